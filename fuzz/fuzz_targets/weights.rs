//! Fuzzes the weights reader through its format-choosing entry point (so every format it
//! learns is covered): arbitrary bytes must give an error or a network, never a panic; a
//! network it accepts, with its record, must survive being written and read again unchanged.

#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;
use mnist_explorer::weights;

fuzz_target!(|bytes: &[u8]| {
    let Ok(loaded) = weights::read(Cursor::new(bytes)) else {
        return;
    };
    let mut written = Cursor::new(Vec::new());
    match &loaded.record {
        Some(record) => weights::write_npz_recorded(&loaded.network, record, &mut written),
        None => weights::write_npz(&loaded.network, &mut written),
    }
    .expect("writing to memory cannot fail");
    // What reading converted (a pickle's float64) is done once: the copy holds float32.
    let again = weights::read(Cursor::new(written.into_inner()))
        .map(|again| (again.network, again.record));
    let wanted = (loaded.network, loaded.record);
    assert_eq!(again.as_ref().ok(), Some(&wanted), "{again:?}");
});
