//! Fuzzes the IDX reader on arbitrary bytes, raw or gzip (told apart by content), as label
//! files (one dimension) and image files (three): it must return an error, never panic,
//! hang or allocate what the bytes cannot back.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mnist_explorer::idx;

fuzz_target!(|bytes: &[u8]| {
    for dims in [1, 3] {
        if let Ok(array) = idx::read_from(bytes, bytes.len() as u64, dims) {
            // What it accepts is what the header promises.
            let len: usize = array.dims.iter().product();
            assert_eq!(array.data.len(), len);
            assert_eq!(array.dims.len(), usize::from(dims));
        }
    }
});
