//! Secret redaction and server-message scrubbing.
#![no_main]
libfuzzer_sys::fuzz_target!(|s: &str| {
    let r = bpdrift::redact::redact_value(s);
    let _ = bpdrift::redact::scrub(&r);
    let _ = bpdrift::redact::without_values(s);
});
