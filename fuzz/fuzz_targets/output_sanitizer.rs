//! Every output escaper and the stream guard in front of stdout: nothing unsafe survives, and
//! the only escape sequences are bpdrift's own colours (issue 27).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bpdrift::fuzzing::check_outputs(data);
});
