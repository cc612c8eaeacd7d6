//! Image references as a user or a fleet file writes them.
#![no_main]
libfuzzer_sys::fuzz_target!(|s: &str| {
    let _ = s.parse::<bpdrift::fuzzing::ImageRef>();
});
