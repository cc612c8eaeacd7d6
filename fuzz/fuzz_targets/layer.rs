//! Layer tars (whiteouts, env files, jars) and jars on their own.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(l) = bpdrift::memory::LayerSummary::read(data) {
        let mut s = bpdrift::memory::Scanner::default();
        s.apply(&l);
        let _ = s.finish(&Default::default(), &[]);
    }
    let _ = bpdrift::memory::jar_classes(data, true);
});
