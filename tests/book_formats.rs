//! The forms the book's readers have their files in give exactly the results of ours: the
//! weights as a Python pickle (`sample_weight.pkl`), each fixture written by the test itself.

mod common;

use common::pickler::Width;
use common::{pickle_of, run, shipped_network, stderr, stdout};

/// `eval --predictions -` of the shipped test split with `weights`: the predictions, and
/// what the run said on standard error.
fn predictions(weights: &std::path::Path) -> (String, String) {
    let out = run(&[
        "--weights",
        weights.to_str().unwrap(),
        "eval",
        "--predictions",
        "-",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    (stdout(&out), stderr(&out))
}

#[test]
fn a_pickle_of_the_shipped_network_predicts_exactly_as_its_npz() {
    let dir = tempfile::tempdir().unwrap();
    let net = shipped_network();
    let npz = dir.path().join("net.npz");
    mnist_explorer::weights::save(&net, &npz).unwrap();
    let (want, _) = predictions(&npz);
    assert_eq!(want.lines().count(), 10_000);
    // As the book's file: protocol 3, float32, the matrices column-major; then Python 2's
    // protocol and protocol 4, row-major and float64.
    for (protocol, width, fortran) in [
        (3, Width::F32, true),
        (2, Width::F64, false),
        (4, Width::F64, true),
    ] {
        // Named .npz on purpose: the format is told by content, not by the extension.
        let path = dir
            .path()
            .join(format!("p{protocol}-{width:?}-{fortran}.npz"));
        std::fs::write(&path, pickle_of(&net, protocol, width, fortran)).unwrap();
        let (got, notes) = predictions(&path);
        assert!(got == want, "{} predicts differently", path.display());
        let note = format!(
            "{}: W1 … b3: float64 values converted to float32",
            path.display()
        );
        assert_eq!(notes.contains(&note), width == Width::F64, "{notes}");
    }
}
