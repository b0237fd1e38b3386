//! The L.190 reader (published datasets of other administrations): never a panic, whatever the bytes.
#![no_main]

use anac::l190::{Rules, read_dataset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_dataset(data, &Rules::default());
    let strict = Rules {
        allow_placeholder_cig: false,
        ..Rules::default()
    };
    let _ = read_dataset(data, &strict);
});
