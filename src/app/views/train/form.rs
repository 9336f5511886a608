//! The training form: the settings of a run as fields the keyboard edits, prefilled with the
//! `train` command's defaults. A value is checked as it is entered, with the command line's
//! parsing and [`TrainConfig::validate`], and refused in place with the reason, so that the
//! form always holds a run that can start.

use crate::train::{Optimizer, Schedule, TrainConfig, format_hidden, parse_hidden};

/// Longest text a field takes, in characters (a list of hidden sizes is the longest need).
const MAX_CHARS: usize = 40;

/// One setting of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Hidden layer sizes, `50,100`.
    Hidden,
    /// The update rule.
    Optimizer,
    /// The learning rate (blank: the optimizer's default).
    LearningRate,
    /// How the learning rate moves over the run.
    Schedule,
    /// Passes over the training split.
    Epochs,
    /// Images per step.
    BatchSize,
    /// Input normalization.
    Norm,
    /// Seed of the initial weights and the shuffles.
    Seed,
}

impl Field {
    /// Every field, in the form's order.
    pub const ALL: [Field; 8] = [
        Field::Hidden,
        Field::Optimizer,
        Field::LearningRate,
        Field::Schedule,
        Field::Epochs,
        Field::BatchSize,
        Field::Norm,
        Field::Seed,
    ];

    /// Its name on the form.
    pub fn name(self) -> &'static str {
        match self {
            Field::Hidden => "hidden layers",
            Field::Optimizer => "optimizer",
            Field::LearningRate => "learning rate",
            Field::Schedule => "schedule",
            Field::Epochs => "epochs",
            Field::BatchSize => "batch size",
            Field::Norm => "normalization",
            Field::Seed => "seed",
        }
    }

    /// What it decides, in a line.
    pub fn about(self) -> &'static str {
        match self {
            Field::Hidden => "units per hidden layer, input side first, e.g. 50,100",
            Field::Optimizer => "how a step follows the gradient: sgd, momentum 0.9, adam",
            Field::LearningRate => "how far a step goes; blank: the optimizer's default",
            Field::Schedule => "constant, or cosine: from the rate down to 0 at the end",
            Field::Epochs => "passes over the training images, each seen once a pass",
            Field::BatchSize => "images per step: the gradient is their mean",
            Field::Norm => "what the network is fed, in training and testing alike",
            Field::Seed => "the initial weights and the shuffles: same seed, same net",
        }
    }

    /// Whether ← → pick its value from a list (otherwise it is typed).
    pub fn is_choice(self) -> bool {
        matches!(self, Field::Optimizer | Field::Schedule | Field::Norm)
    }
}

/// A field being typed into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// The text so far.
    pub text: String,
    /// Why the text was refused, after an attempt to enter it.
    pub error: Option<String>,
}

/// What a value is checked against, besides its own field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Images in the training split (`usize::MAX` while it is not read yet: the batch size
    /// is then checked again when the run starts).
    pub images: usize,
    /// Pixels per image: the first layer's inputs.
    pub inputs: usize,
}

/// The form: a valid configuration, the selected field and the one being typed into.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Form {
    config: TrainConfig,
    /// Whether the learning rate was typed; if not, it is the optimizer's default, as for
    /// `train` without `--lr`.
    lr_given: bool,
    selected: usize,
    editing: Option<Edit>,
}

impl Form {
    /// The run the form describes.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The selected field.
    pub fn selected(&self) -> Field {
        Field::ALL[self.selected]
    }

    /// The field being typed into, if any (always the selected one).
    pub fn editing(&self) -> Option<&Edit> {
        self.editing.as_ref()
    }

    /// A field's value as the form shows it.
    pub fn value(&self, field: Field) -> String {
        let c = &self.config;
        match field {
            Field::Hidden => format_hidden(&c.hidden),
            Field::Optimizer => c.optimizer.name().to_string(),
            Field::LearningRate if self.lr_given => c.lr.to_string(),
            Field::LearningRate => format!("{} ({}'s default)", c.lr, c.optimizer.name()),
            Field::Schedule => c.schedule.name().to_string(),
            Field::Epochs => c.epochs.to_string(),
            Field::BatchSize => c.batch_size.to_string(),
            Field::Norm => c.norm.name().to_string(),
            Field::Seed => c.seed.to_string(),
        }
    }

    /// Selects the field `by` places down (up when negative), wrapping; a field being typed
    /// into is entered first, and stays selected if its text is refused.
    pub fn select(&mut self, by: isize, limits: Limits) {
        if self.editing.is_some() && !self.accept(limits) {
            return;
        }
        let n = Field::ALL.len() as isize;
        self.selected = (self.selected as isize + by).rem_euclid(n) as usize;
    }

    /// The next (or previous) value of a choice field; nothing on a typed one.
    pub fn choose(&mut self, forward: bool) {
        let field = self.selected();
        let c = &mut self.config;
        match field {
            Field::Optimizer => {
                const ALL: [Optimizer; 3] = [Optimizer::Sgd, Optimizer::Momentum, Optimizer::Adam];
                c.optimizer = step(&ALL, c.optimizer, forward);
                if !self.lr_given {
                    c.lr = c.optimizer.default_lr();
                }
            }
            Field::Schedule => {
                c.schedule = step(&[Schedule::Constant, Schedule::Cosine], c.schedule, forward);
            }
            Field::Norm => {
                c.norm = if forward {
                    c.norm.next()
                } else {
                    c.norm.prev()
                };
            }
            _ => {}
        }
    }

    /// Starts typing into the selected field: with `first` in place of its value, or with
    /// its value less the last character (Backspace). Nothing on a choice field.
    pub fn start_edit(&mut self, first: Option<char>) {
        let field = self.selected();
        if field.is_choice() {
            return;
        }
        let text = match first {
            Some(c) => c.to_string(),
            None if field == Field::LearningRate && !self.lr_given => String::new(),
            None => {
                let mut text = self.value(field);
                text.pop();
                text
            }
        };
        self.editing = Some(Edit { text, error: None });
    }

    /// Adds a character to the text being typed (control characters and text beyond
    /// [`MAX_CHARS`] are not taken).
    pub fn type_char(&mut self, c: char) {
        if let Some(edit) = &mut self.editing
            && !c.is_control()
            && edit.text.chars().count() < MAX_CHARS
        {
            edit.text.push(c);
            edit.error = None;
        }
    }

    /// Removes the last character typed.
    pub fn backspace(&mut self) {
        if let Some(edit) = &mut self.editing {
            edit.text.pop();
            edit.error = None;
        }
    }

    /// Leaves the field as it was.
    pub fn cancel_edit(&mut self) {
        self.editing = None;
    }

    /// Enters the text typed, if it reads as a value the run can take; otherwise keeps it
    /// with the reason and returns false. True when nothing was being typed.
    pub fn accept(&mut self, limits: Limits) -> bool {
        let field = self.selected();
        let Some(edit) = &mut self.editing else {
            return true;
        };
        match with_value(&self.config, field, edit.text.trim(), limits) {
            Ok((config, lr_given)) => {
                self.config = config;
                if let Some(given) = lr_given {
                    self.lr_given = given;
                }
                self.editing = None;
                true
            }
            Err(reason) => {
                edit.error = Some(reason);
                false
            }
        }
    }

    /// Every field back to `train`'s default.
    pub fn reset(&mut self) {
        *self = Self {
            selected: self.selected,
            ..Self::default()
        };
    }
}

/// The value after (or before) `now` in `all`, wrapping.
fn step<T: Copy + PartialEq>(all: &[T], now: T, forward: bool) -> T {
    let n = all.len();
    let i = all.iter().position(|&v| v == now).unwrap_or(0);
    all[if forward {
        (i + 1) % n
    } else {
        (i + n - 1) % n
    }]
}

/// `config` with `field` read from `text`, and for the learning rate whether it was given
/// (blank text: the optimizer's default); or why the text cannot be taken.
fn with_value(
    config: &TrainConfig,
    field: Field,
    text: &str,
    limits: Limits,
) -> Result<(TrainConfig, Option<bool>), String> {
    let mut c = config.clone();
    let mut lr_given = None;
    let whole = |text: &str| -> Result<u64, String> {
        text.parse::<u64>()
            .map_err(|_| format!("`{text}` is not a whole number"))
    };
    let size = |text: &str| -> Result<usize, String> {
        usize::try_from(whole(text)?).map_err(|_| format!("`{text}` is too large"))
    };
    match field {
        Field::Hidden => c.hidden = parse_hidden(text)?,
        Field::LearningRate if text.is_empty() => {
            c.lr = c.optimizer.default_lr();
            lr_given = Some(false);
        }
        Field::LearningRate => {
            c.lr = text
                .parse::<f32>()
                .map_err(|_| format!("`{text}` is not a number"))?;
            lr_given = Some(true);
        }
        Field::Epochs => c.epochs = size(text)?,
        Field::BatchSize => {
            c.batch_size = size(text)?;
            // Said as the command line says it: the upper bound, the training split's
            // size, may not be known yet.
            if c.batch_size == 0 {
                return Err("the batch size must be at least 1".into());
            }
        }
        Field::Seed => c.seed = whole(text)?,
        Field::Optimizer | Field::Schedule | Field::Norm => {}
    }
    c.validate(limits.images).map_err(|e| e.to_string())?;
    let sizes = c.sizes(limits.inputs, crate::dataset::NUM_CLASSES);
    let bytes = crate::weights::data_bytes(&sizes);
    if bytes > u128::from(crate::weights::MAX_DATA_BYTES) {
        return Err(format!(
            "its weights would take {} MB; weights files of at most {} MB are read back",
            bytes / 1_000_000,
            crate::weights::MAX_DATA_BYTES / 1_000_000
        ));
    }
    Ok((c, lr_given))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::NormMode;

    const LIMITS: Limits = Limits {
        images: 60_000,
        inputs: 784,
    };

    /// Selects `field`, types `text` into it and tries to enter it.
    fn enter(form: &mut Form, field: Field, text: &str) -> bool {
        let at = Field::ALL.iter().position(|&f| f == field).unwrap();
        form.select(at as isize - form.selected as isize, LIMITS);
        let mut chars = text.chars();
        form.start_edit(chars.next());
        if text.is_empty() {
            form.editing = Some(Edit {
                text: String::new(),
                error: None,
            });
        }
        chars.for_each(|c| form.type_char(c));
        form.accept(LIMITS)
    }

    #[test]
    fn the_form_starts_as_train_without_options() {
        let form = Form::default();
        assert_eq!(form.config(), &TrainConfig::default());
        assert_eq!(form.value(Field::Hidden), "50,100");
        assert_eq!(form.value(Field::LearningRate), "0.1 (momentum's default)");
        assert_eq!(form.selected(), Field::Hidden);
    }

    #[test]
    fn values_are_parsed_and_checked_as_the_command_line_does() {
        let mut form = Form::default();
        assert!(enter(&mut form, Field::Hidden, "16, 8"));
        assert!(enter(&mut form, Field::Epochs, "3"));
        assert!(enter(&mut form, Field::BatchSize, "250"));
        assert!(enter(&mut form, Field::Seed, "7"));
        let c = form.config();
        assert_eq!((c.hidden.as_slice(), c.epochs), (&[16, 8][..], 3));
        assert_eq!((c.batch_size, c.seed), (250, 7));
        let refused = [
            (Field::Hidden, "50,x", "`x` is not a layer size"),
            (Field::Hidden, "", "the list of hidden layer sizes is empty"),
            (Field::Hidden, "50,0", "hidden layer 2 has size 0"),
            (Field::Hidden, "100000", "weights files of at most"),
            (Field::Epochs, "0", "at least 1"),
            (Field::Epochs, "two", "`two` is not a whole number"),
            (Field::BatchSize, "60001", "between 1 and 60000"),
            (Field::BatchSize, "00", "must be at least 1"),
            (Field::LearningRate, "-1", "finite number above 0"),
            (Field::LearningRate, "fast", "`fast` is not a number"),
            (Field::Seed, "-1", "not a whole number"),
        ];
        for (field, text, reason) in refused {
            let before = form.config().clone();
            assert!(!enter(&mut form, field, text), "{field:?} took {text}");
            let error = form.editing().and_then(|e| e.error.clone()).unwrap();
            assert!(error.contains(reason), "{field:?} `{text}`: {error}");
            assert_eq!(form.editing().map(|e| e.text.as_str()), Some(text));
            // Moving on is refused too, and the config never holds the bad value.
            form.select(1, LIMITS);
            assert_eq!(form.selected(), field, "stays on the refused field");
            assert_eq!(form.config(), &before);
            form.cancel_edit();
        }
    }

    #[test]
    fn the_learning_rate_follows_the_optimizer_until_it_is_typed() {
        let mut form = Form::default();
        form.select(1, LIMITS);
        form.choose(true);
        assert_eq!(form.config().optimizer, Optimizer::Adam);
        assert_eq!(form.config().lr, Optimizer::Adam.default_lr());
        assert!(enter(&mut form, Field::LearningRate, "0.01"));
        assert_eq!(form.value(Field::LearningRate), "0.01");
        form.select(-1, LIMITS);
        form.choose(true);
        assert_eq!(form.config().optimizer, Optimizer::Sgd);
        assert_eq!(form.config().lr, 0.01, "a typed rate stays");
        // Blank: the optimizer's default again.
        assert!(enter(&mut form, Field::LearningRate, ""));
        assert_eq!(form.config().lr, Optimizer::Sgd.default_lr());
        form.reset();
        assert_eq!(form.config(), &TrainConfig::default());
    }

    #[test]
    fn choices_cycle_both_ways_and_typing_does_not_touch_them() {
        let mut form = Form::default();
        form.select(6, LIMITS);
        assert_eq!(form.selected(), Field::Norm);
        assert_eq!(form.config().norm, NormMode::Div255);
        for mode in NormMode::ALL
            .iter()
            .cycle()
            .skip(2)
            .take(NormMode::ALL.len() - 1)
        {
            form.choose(true);
            assert_eq!(form.config().norm, *mode);
        }
        assert_eq!(form.config().norm, NormMode::Raw, "wrapped round");
        form.choose(false);
        assert_eq!(form.config().norm, NormMode::Zca);
        form.start_edit(Some('5'));
        assert!(form.editing().is_none(), "a choice is not typed");
        form.select(-3, LIMITS);
        assert_eq!(form.selected(), Field::Schedule);
        form.choose(false);
        assert_eq!(form.config().schedule, Schedule::Constant);
        form.select(-4, LIMITS);
        assert_eq!(form.selected(), Field::Seed, "wraps");
    }
}
