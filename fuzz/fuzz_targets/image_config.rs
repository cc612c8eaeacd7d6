//! Image configs and the `io.buildpacks.*` labels inside them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = bpdrift::ImageMetadata::from_config(data);
});
