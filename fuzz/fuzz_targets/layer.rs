//! Layer tars (whiteouts, env files, jars) and jars on their own.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(l) = bpdrift::fuzzing::LayerSummary::read(data) {
        let mut s = bpdrift::fuzzing::Scanner::default();
        s.apply(&l);
        let _ = s.finish(&Default::default(), &Default::default(), &[]);
    }
    let _ = bpdrift::fuzzing::jar_classes(data, true);
});
