//! Rule and fleet TOML, parsed and rendered.
#![no_main]
libfuzzer_sys::fuzz_target!(|s: &str| {
    let f = bpdrift::parse_rule_file("rules.toml", s);
    let _ = bpdrift::render_diagnostics(&f);
    let f = bpdrift::fuzzing::parse_fleet("fleet.toml", s, std::path::Path::new("."));
    let _ = f.render_diagnostics();
});
