//! What a credential helper prints, and the helper names a docker config holds (issue 27).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = bpdrift::fuzzing::parse_helper_reply(data);
    if let Ok(name) = std::str::from_utf8(data)
        && bpdrift::fuzzing::helper_name_ok(name)
    {
        assert!(!name.contains(['/', '\\']) && !name.is_empty());
    }
});
