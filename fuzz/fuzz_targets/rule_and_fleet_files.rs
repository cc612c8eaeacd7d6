//! Rule and fleet TOML, parsed and rendered.
#![no_main]
libfuzzer_sys::fuzz_target!(|s: &str| {
    let f = bpdrift::rules::parse_file("rules.toml", s);
    let _ = bpdrift::rules::render_diagnostics(&f);
    let f = bpdrift::report::fleet::parse_fleet("fleet.toml", s, std::path::Path::new("."));
    let _ = f.render_diagnostics();
});
