//! Manifests and indexes from any registry, layout or archive.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use bpdrift::fuzzing::manifest::{Manifest, parse, select};
    if let Ok(Manifest::Index(idx)) = parse(data, None) {
        let _ = select(&idx, &bpdrift::fuzzing::Platform::linux_amd64());
    }
});
