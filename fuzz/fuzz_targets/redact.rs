//! Secret redaction and server-message scrubbing.
#![no_main]
libfuzzer_sys::fuzz_target!(|s: &str| {
    let r = bpdrift::fuzzing::redact_value(s);
    let _ = bpdrift::fuzzing::scrub(&r);
    let _ = bpdrift::fuzzing::without_values(s);
});
