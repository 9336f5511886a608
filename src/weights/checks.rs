//! The rules every weights format obeys, checked before any array data is read: arrays
//! named `W1, b1, …, Wn, bn` and nothing else, matrices and vectors of the right rank, shapes
//! that chain from layer to layer, and all the data within [`MAX_DATA_BYTES`].

use std::collections::{HashMap, HashSet};

use super::npy::shape_text;
use super::{MAX_DATA_BYTES, WeightsFault};
use crate::excerpt::excerpt;

/// A named array's fault.
pub(super) fn bad(name: &str, message: String) -> WeightsFault {
    WeightsFault::BadArray {
        name: excerpt(name),
        message,
    }
}

/// The array names of layer `k`, with the rank each must have: `Wk` a matrix, `bk` a vector.
pub(super) fn layer_arrays(k: usize) -> [(String, usize); 2] {
    [(format!("W{k}"), 2), (format!("b{k}"), 1)]
}

/// How many layers the names (the keys of `index`) describe, checking that they are
/// `W1, b1, …, Wn, bn` without a gap and with nothing else.
pub(super) fn count_layers<V>(index: &HashMap<String, V>) -> Result<usize, WeightsFault> {
    let has = |name: String| index.contains_key(&name);
    let mut n = 0;
    while has(format!("W{}", n + 1)) || has(format!("b{}", n + 1)) {
        n += 1;
        for (name, partner) in [("W", "b"), ("b", "W")] {
            if has(format!("{name}{n}")) && !has(format!("{partner}{n}")) {
                return Err(WeightsFault::MissingKey(format!("{partner}{n}")));
            }
        }
    }
    // A W5 after a missing W4 (or any stray array) would otherwise be dropped without a
    // word, leaving a different network than the file's author meant.
    let layers: HashSet<String> = (1..=n)
        .flat_map(|k| [format!("W{k}"), format!("b{k}")])
        .collect();
    let mut strays: Vec<&String> = index
        .keys()
        .filter(|name| !layers.contains(*name))
        .collect();
    strays.sort();
    let numbered = |name: &str| {
        name.strip_prefix(['W', 'b'])
            .is_some_and(|k| !k.is_empty() && k.bytes().all(|c| c.is_ascii_digit()))
    };
    match (n, strays.first()) {
        (_, None) => Ok(n),
        (0, Some(_)) if strays.iter().any(|s| numbered(s)) => {
            Err(WeightsFault::MissingKey("W1".into()))
        }
        (0, Some(_)) => Err(WeightsFault::NoLayers),
        (_, Some(stray)) => Err(WeightsFault::UnexpectedKey {
            name: excerpt(stray),
            read: if n == 1 {
                "W1, b1".to_string()
            } else {
                format!("W1, b1 … W{n}, b{n}")
            },
        }),
    }
}

/// Checks that array `name` of `shape` has `rank` dimensions.
pub(super) fn check_rank(name: &str, shape: &[usize], rank: usize) -> Result<(), WeightsFault> {
    if shape.len() == rank {
        return Ok(());
    }
    let found = shape.len();
    Err(bad(
        name,
        format!("has {found} dimension(s), expected {rank}"),
    ))
}

/// Values an array of `shape` holds, `None` if that overflows.
pub(super) fn values_in(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Checks the declared shapes (`W1, b1, …, Wn, bn` in that order, each of its rank) as
/// [`crate::network::Network::new`] checks arrays, before any is read: each `Wk` (inputs,
/// outputs) non-empty and following `W(k-1)`, each `bk` (outputs,), and all the data, as
/// float32, within [`MAX_DATA_BYTES`].
pub(super) fn check_sizes(shapes: &[(String, Vec<usize>)]) -> Result<(), WeightsFault> {
    let mut total = 0u64;
    let mut prev_out = None;
    for (k, pair) in (1..).zip(shapes.chunks_exact(2)) {
        let [(wname, w), (bname, b)] = pair else {
            continue;
        };
        let [inputs, outputs] = w[..] else {
            continue;
        };
        let w_expected = if inputs == 0 || outputs == 0 {
            Some("non-empty (inputs, outputs)".to_string())
        } else {
            prev_out
                .filter(|&prev| prev != inputs)
                .map(|prev| format!("({prev}, {outputs}) to follow W{}", k - 1))
        };
        let b_expected = (b[..] != [outputs]).then(|| shape_text(&[outputs]));
        for (name, shape, expected) in [(wname, w, w_expected), (bname, b, b_expected)] {
            if let Some(expected) = expected {
                return Err(WeightsFault::BadShape {
                    name: name.clone(),
                    expected,
                    found: shape_text(shape),
                });
            }
            let bytes = values_in(shape).map_or(u64::MAX, |n| (n as u64).saturating_mul(4));
            total = total.saturating_add(bytes);
            if total > MAX_DATA_BYTES {
                return Err(WeightsFault::TooLarge(format!(
                    "its arrays up to {name} {} declare {total} bytes of data; weights files of \
                     at most {MAX_DATA_BYTES} are read",
                    shape_text(shape)
                )));
            }
        }
        prev_out = Some(outputs);
    }
    Ok(())
}
