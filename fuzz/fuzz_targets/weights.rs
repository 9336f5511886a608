//! Fuzzes the weights reader through its format-choosing entry point (so every format it
//! learns is covered): arbitrary bytes must give an error or a network, never a panic; a
//! network it accepts must survive being written and read again unchanged.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use mnist_explorer::weights;

fuzz_target!(|bytes: &[u8]| {
    let Ok(net) = weights::read(Cursor::new(bytes)) else {
        return;
    };
    let mut written = Cursor::new(Vec::new());
    weights::write_npz(&net, &mut written).expect("writing to memory cannot fail");
    let again = weights::read(Cursor::new(written.into_inner()));
    assert_eq!(again.as_ref().ok(), Some(&net), "{again:?}");
});
