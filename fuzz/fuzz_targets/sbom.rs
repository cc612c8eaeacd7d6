//! SBOM documents (CycloneDX, SPDX, syft JSON), the layers that hold them, dpkg's order.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = bpdrift::fuzzing::parse_sbom(data);
    let _ = bpdrift::fuzzing::scan_sbom_layer(data);
    if let Ok(s) = std::str::from_utf8(data)
        && let Some((a, b)) = s.split_once('\n')
    {
        assert_eq!(
            bpdrift::fuzzing::compare_deb(a, b),
            bpdrift::fuzzing::compare_deb(b, a).reverse()
        );
    }
});
