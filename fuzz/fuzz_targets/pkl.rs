//! Fuzzes the restricted pickle reader: any bytes starting like a pickle (0x80) go through
//! `weights::read` and must give an error or a network, never a panic, a hang or an
//! allocation the bytes cannot back; a network it accepts must survive being written as
//! `.npz` and read again unchanged, and only its own arrays may be named as converted.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use mnist_explorer::weights;

fuzz_target!(|bytes: &[u8]| {
    // Other first bytes are the other formats' (the `weights` target covers them).
    if bytes.first() != Some(&0x80) {
        return;
    }
    let Ok(loaded) = weights::read(Cursor::new(bytes)) else {
        return;
    };
    let layers = loaded.network.layers().len();
    assert!(loaded.from_float64.len() <= 2 * layers);
    let mut written = Cursor::new(Vec::new());
    weights::write_npz(&loaded.network, &mut written).expect("writing to memory cannot fail");
    let again = weights::read(Cursor::new(written.into_inner()));
    let again = again.map(|a| a.network);
    assert_eq!(again.as_ref().ok(), Some(&loaded.network), "{again:?}");
});
