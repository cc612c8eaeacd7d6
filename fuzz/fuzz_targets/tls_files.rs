//! CA files, certs.d `*.crt`, client certificates and keys as read from disk (issue 27): any
//! bytes are refused with a reason or accepted, never a panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = bpdrift::fuzzing::parse_cas(data);
    let cut = data.len() / 2;
    let _ = bpdrift::fuzzing::parse_identity(&data[..cut], &data[cut..]);
});
