//! Why a network fed another normalization than the one it was trained on does worse: the
//! one-line reason `eval` warns with and the explorer shows beside its modes table.
//!
//! The reasons compare what each mode makes of a typical MNIST digit: how bright its ink is
//! relative to x/255, and whether its blank background stays 0. They say what happens to the
//! first layer's sums `z = Σ w·x + b`; the accuracy shown beside them says how much that costs.

use crate::normalize::{NormMode, ZSCORE_MEAN, ZSCORE_STD};

/// Median L1 norm of an MNIST training image scaled by 1/255 (the test images': 101.4):
/// `l1` divides by it, so its pixels are about this many times fainter than x/255's.
/// `tests/shipped_data.rs` recomputes it.
pub const MEDIAN_L1: f64 = 99.9;
/// Median L2 norm of an MNIST training image scaled by 1/255 (the test images': 9.28).
pub const MEDIAN_L2: f64 = 9.2;

/// How bright full ink is under `mode`, against x/255's 1.
fn ink(mode: NormMode) -> f64 {
    match mode {
        NormMode::Raw => 255.0,
        // Every MNIST digit's brightest pixel is 254 or 255: max is x/255 within 0.4%.
        NormMode::Div255 | NormMode::Max => 1.0,
        NormMode::L1 => 1.0 / MEDIAN_L1,
        NormMode::L2 => 1.0 / MEDIAN_L2,
        NormMode::Zscore => (1.0 - ZSCORE_MEAN) / ZSCORE_STD,
        // Not pixels at all: `explain` answers for them before asking about ink.
        NormMode::Pca | NormMode::Zca => 1.0,
    }
}

/// Why a network trained on `trained` inputs does worse when fed `used` ones, in one line;
/// `None` when the modes are the same.
pub fn reason(trained: NormMode, used: NormMode) -> Option<String> {
    explain(trained, used, false)
}

/// [`reason`] in about 45 characters, for a narrow panel.
pub fn short_reason(trained: NormMode, used: NormMode) -> Option<String> {
    explain(trained, used, true)
}

fn explain(trained: NormMode, used: NormMode, short: bool) -> Option<String> {
    use NormMode::{Div255, Max, Zscore};
    if trained == used {
        return None;
    }
    if trained.whitening().is_some() || used.whitening().is_some() {
        return Some(whitened(trained, used, short));
    }
    let ratio = ink(used) / ink(trained);
    let (factor, direction) = if ratio < 1.0 {
        (about(1.0 / ratio), "smaller")
    } else {
        (about(ratio), "larger")
    };
    let background = -ZSCORE_MEAN / ZSCORE_STD;
    Some(match (trained, used) {
        (Div255 | Max, Div255 | Max) if short => "max ≈ x/255: brightest pixel 254-255".into(),
        (Div255 | Max, Div255 | Max) => "max divides each image by its brightest pixel, 254 or \
            255 in every MNIST digit: nearly the inputs of x/255, so the network hardly notices"
            .into(),
        (_, Zscore) if short => format!("background {background:.2}, not 0: all weights add"),
        (_, Zscore) => format!(
            "zscore turns the blank background into {background:.2} instead of 0 (and full ink \
             into {:.1}), so all 784 first-layer weights add to every sum, not only those under \
             the ink",
            ink(Zscore)
        ),
        (Zscore, _) if short => format!("trained with background {background:.2}, here 0"),
        (Zscore, _) => format!(
            "the network was trained with the blank background at {background:.2} (zscore); \
             {used} leaves it at 0 and makes the ink ~{factor}× {direction}, so every \
             first-layer sum loses what the background added in training"
        ),
        _ if short && ratio < 1.0 => format!("pixels ~{factor}× smaller: sums shrink to bias"),
        _ if short => format!("pixels ~{factor}× larger: sigmoids saturate"),
        _ if ratio < 1.0 => format!(
            "{used} makes each pixel ~{factor}× smaller than {trained} did in training, so every \
             first-layer sum shrinks as much, toward the unit's bias, which is the same for \
             every image"
        ),
        _ => format!(
            "{used} makes each pixel ~{factor}× larger than {trained} did in training, so the \
             first-layer sums grow as much and the sigmoids saturate at 0 or 1, keeping little \
             but each sum's sign"
        ),
    })
}

/// The reason when either side is a whitening: not a matter of brightness but of what each
/// input even is.
fn whitened(trained: NormMode, used: NormMode, short: bool) -> String {
    use NormMode::{Pca, Zca};
    match (trained, used) {
        (Pca, _) | (_, Pca) if short => "pca inputs are axes, not pixels".into(),
        (Pca, _) | (_, Pca) => format!(
            "pca inputs are coordinates along the training set's principal axes, not pixels: \
             the weight that {} learned for input i meets something else entirely under {}",
            trained, used
        ),
        (Zca, _) if short => "trained on zca edges, fed ink".into(),
        (Zca, _) => format!(
            "the network learned zca's whitened digits (edges around the strokes, background \
             near 0, each axis at variance 1); {used} feeds it plain ink instead"
        ),
        _ if short => "zca edges, not the ink it learned".into(),
        _ => format!(
            "zca turns each digit into its edges at unit variance; the network learned {trained}'s \
             plain ink, so its first-layer sums see a different picture"
        ),
    }
}

/// A factor as a person reads it: `2.8`, `100`, `25,500`.
fn about(x: f64) -> String {
    if x < 10.0 {
        let text = format!("{x:.1}");
        text.strip_suffix(".0").map_or(text.clone(), str::to_string)
    } else if x < 1000.0 {
        format!("{x:.0}")
    } else {
        // Three significant digits, with a thousands separator.
        let magnitude = 10f64.powi(x.log10().floor() as i32 - 2);
        let rounded = ((x / magnitude).round() * magnitude) as u64;
        let digits = rounded.to_string();
        let (head, tail) = digits.split_at(digits.len() - 3);
        format!("{head},{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_mode_needs_no_reason_and_every_other_pair_has_one_that_fits() {
        for trained in NormMode::ALL {
            for used in NormMode::ALL {
                let (long, short) = (reason(trained, used), short_reason(trained, used));
                if trained == used {
                    assert_eq!((long, short), (None, None));
                    continue;
                }
                let (long, short) = (long.unwrap(), short.unwrap());
                assert!(
                    short.chars().count() <= 46,
                    "{trained} → {used}: {short} ({} characters)",
                    short.chars().count()
                );
                assert!(long.len() > short.len(), "{long}");
            }
        }
    }

    #[test]
    fn the_lesson_of_l1_on_an_x_over_255_network_is_told_with_its_factor() {
        assert_eq!(
            reason(NormMode::Div255, NormMode::L1).unwrap(),
            "l1 makes each pixel ~100× smaller than div255 did in training, so every first-layer \
             sum shrinks as much, toward the unit's bias, which is the same for every image"
        );
        assert_eq!(
            short_reason(NormMode::Div255, NormMode::Raw).unwrap(),
            "pixels ~255× larger: sigmoids saturate"
        );
        assert_eq!(
            short_reason(NormMode::Raw, NormMode::L1).unwrap(),
            "pixels ~25,500× smaller: sums shrink to bias"
        );
        assert!(
            reason(NormMode::L1, NormMode::Zscore)
                .unwrap()
                .contains("-0.42 instead of 0")
        );
        assert!(
            reason(NormMode::Zscore, NormMode::Div255)
                .unwrap()
                .contains("div255 leaves it at 0 and makes the ink ~2.8× smaller")
        );
    }

    #[test]
    fn factors_read_as_people_write_them() {
        assert_eq!(about(2.82), "2.8");
        assert_eq!(about(9.0), "9");
        assert_eq!(about(99.9), "100");
        assert_eq!(about(254.7), "255");
        assert_eq!(about(2346.0), "2,350");
        assert_eq!(about(25_474.5), "25,500");
    }
}
