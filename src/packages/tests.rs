//! Unit tests of `packages`: the real documents in `testdata/sbom/`, the layer scan, the legacy
//! label, the diff and its verdict words.

use super::diff::diff;
use super::sbom::{SbomError, parse, scan_layer};
use super::*;
use crate::diff::Status;
use crate::memory::image_tests::tar;
use crate::version::VersionClass;

fn testdata(name: &str) -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read(root.join("testdata/sbom").join(name)).unwrap()
}

fn names(p: &sbom::Parsed) -> Vec<(String, String, String)> {
    p.packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.kind.clone()))
        .collect()
}

fn two_packages() -> Vec<(String, String, String)> {
    vec![
        ("package-1".into(), "1.0.1".into(), "python".into()),
        ("package-2".into(), "2.0.1".into(), "deb".into()),
    ]
}

/// The application library the package tests' images share.
const SPRING_CORE: (&str, &str, &str) = (
    "spring-core",
    "6.0.9",
    "pkg:maven/org.springframework/spring-core@6.0.9",
);

#[test]
fn real_documents_of_every_format() {
    // Written by syft's and packit's own encoders: the OS component and the document's own
    // subject (a container) are not packages.
    for (file, format) in [
        ("syft-cyclonedx-1.6.cdx.json", "CycloneDX 1.6"),
        ("syft-spdx-2.3.spdx.json", "SPDX 2.3"),
        ("packit-spdx-2.2.spdx.json", "SPDX 2.2"),
        ("syft-json.syft.json", "syft JSON"),
    ] {
        let p = parse(&testdata(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(p.format, format, "{file}");
        let mut want = two_packages();
        if format.starts_with("SPDX") {
            // SPDX has no package type of its own: it comes from the purl, and `a-purl-1` is none.
            want[0].2 = "unknown".into();
        }
        assert_eq!(names(&p), want, "{file}");
        assert_eq!(
            p.packages[1].purl.as_deref(),
            Some("pkg:deb/debian/package-2@2.0.1"),
            "{file}"
        );
    }
}

#[test]
fn unknown_formats_and_versions_are_named() {
    let e = parse(&testdata("syft-cyclonedx-1.7.cdx.json")).unwrap_err();
    assert_eq!(e.to_string(), "SBOM format CycloneDX 1.7 not understood");
    let e = parse(br#"{"spdxVersion":"SPDX-3.0","packages":[]}"#).unwrap_err();
    assert_eq!(e.to_string(), "SBOM format SPDX 3.0 not understood");
    let e = parse(br#"{"schema":{"version":"99.0.0"},"artifacts":[]}"#).unwrap_err();
    assert_eq!(e.to_string(), "SBOM format syft JSON 99.0.0 not understood");
    let e = parse(br#"{"hello":1}"#).unwrap_err();
    assert!(matches!(e, SbomError::Unknown(_)), "{e}");
    let e = parse(b"not json").unwrap_err();
    assert!(matches!(e, SbomError::Json(_)), "{e}");
}

#[test]
fn odd_fields_cost_only_themselves() {
    let p = parse(
        br#"{"bomFormat":"CycloneDX","specVersion":"1.4","components":[
        {"name":"a","version":7,"purl":{"x":1},"properties":null},
        {"name":{"no":1},"version":"1"},
        {"name":"b","version":"1.0","purl":"pkg:maven/org.x/b@1.0?arch=amd64&type=jar"}]}"#,
    )
    .unwrap();
    assert_eq!(p.packages.len(), 2);
    assert_eq!(
        (
            p.packages[0].version.as_str(),
            p.packages[0].purl.as_deref()
        ),
        ("7", None)
    );
    assert_eq!(p.packages[1].kind, "maven");
    assert_eq!(p.packages[1].arch.as_deref(), Some("amd64"));
}

#[test]
fn values_are_cut_to_what_is_shown() {
    let long = "x".repeat(100_000);
    let doc = format!(r#"{{"artifacts":[{{"name":"{long}","version":"{long}"}}]}}"#);
    let p = parse(doc.as_bytes()).unwrap();
    assert!(
        p.packages[0].name.len() < 300,
        "{}",
        p.packages[0].name.len()
    );
    assert!(p.packages[0].version.ends_with("more bytes)"));
}

#[test]
fn entries_are_bounded() {
    let n = crate::limits::SBOM_PACKAGES_MAX + 3;
    let mut doc = String::from(r#"{"schema":{"version":"16.0.1"},"artifacts":["#);
    for i in 0..n {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(r#"{{"name":"p{i}","version":"1"}}"#));
    }
    doc.push_str("]}");
    let p = parse(doc.as_bytes()).unwrap();
    assert_eq!(p.packages.len(), crate::limits::SBOM_PACKAGES_MAX);
    assert_eq!(p.truncated, 3);
}

fn cdx(components: &[(&str, &str)]) -> Vec<u8> {
    let comps: Vec<String> = components
        .iter()
        .map(|(n, v)| {
            format!(
                r#"{{"type":"library","name":"{n}","version":"{v}","purl":"pkg:deb/ubuntu/{n}@{v}?arch=amd64"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{}]}}"#,
        comps.join(",")
    )
    .into_bytes()
}

fn syft(artifacts: &[(&str, &str, &str)]) -> Vec<u8> {
    let a: Vec<String> = artifacts
        .iter()
        .map(|(n, v, p)| {
            format!(r#"{{"name":"{n}","version":"{v}","type":"java-archive","purl":"{p}"}}"#)
        })
        .collect();
    format!(
        r#"{{"schema":{{"version":"16.0.24"}},"artifacts":[{}]}}"#,
        a.join(",")
    )
    .into_bytes()
}

fn metadata() -> ImageMetadata {
    ImageMetadata {
        buildpacks: vec![crate::metadata::Module {
            id: "paketo-buildpacks/bellsoft-liberica".into(),
            version: "10.2.4".into(),
            homepage: None,
        }],
        ..Default::default()
    }
}

fn image(os: &[(&str, &str)], jre: &str, libs: &[(&str, &str, &str)]) -> ImagePackages {
    let run_doc = cdx(os);
    let run = scan_layer(&tar(&[("cnb/sbom/bom.cdx.json", run_doc.as_slice())], &[])[..]).unwrap();
    let jre_doc = syft(&[("bellsoft-jre", jre, "pkg:generic/bellsoft-jre")]);
    let app_doc = syft(libs);
    let launch = scan_layer(
        &tar(
            &[
                (
                    "layers/sbom/launch/paketo-buildpacks_bellsoft-liberica/jre/sbom.syft.json",
                    jre_doc.as_slice(),
                ),
                (
                    "layers/sbom/launch/paketo-buildpacks_bellsoft-liberica/jre/sbom.cdx.json",
                    b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\"}",
                ),
                (
                    "layers/sbom/launch/paketo-buildpacks_executable-jar/sbom.syft.json",
                    app_doc.as_slice(),
                ),
                ("layers/sbom/launch/sbom.legacy.json", b"[]"),
                (
                    "layers/sbom/launch/paketo-buildpacks_x/y/sbom.spdx.json",
                    b"{\"spdxVersion\":\"SPDX-9\"}",
                ),
            ],
            &[],
        )[..],
    )
    .unwrap();
    ImagePackages::assemble(&metadata(), Some(&run), Some(&launch), Vec::new())
}

#[test]
fn a_rebase_a_jre_and_app_libraries() {
    let before = image(
        &[
            ("libssl3", "3.0.2-0ubuntu1.9"),
            ("openssl", "3.0.2-0ubuntu1.9"),
            ("zlib1g", "1:1.2.11.dfsg-2ubuntu9.2"),
            ("libtasn1-6", "4.18.0-4build1"),
        ],
        "17.0.6",
        &[SPRING_CORE],
    );
    let after = image(
        &[
            ("libssl3", "3.0.2-0ubuntu1.10"),
            ("openssl", "3.0.2-0ubuntu1.10"),
            ("zlib1g", "1:1.2.11.dfsg-2ubuntu9.2"),
            ("tzdata", "2023c-0ubuntu0.22.04.2"),
        ],
        "17.0.7",
        &[
            (
                "spring-core",
                "6.0.10",
                "pkg:maven/org.springframework/spring-core@6.0.10",
            ),
            (
                "jackson-core",
                "2.15.2",
                "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.15.2",
            ),
        ],
    );
    let d = diff(&before, &after, true);
    let locs: Vec<&Location> = d.groups.iter().map(|g| &g.location).collect();
    assert_eq!(
        locs,
        [
            &Location::RunImage,
            &Location::Buildpack("paketo-buildpacks/bellsoft-liberica".into()),
            &Location::App
        ]
    );
    let run = &d.groups[0];
    assert_eq!(
        (run.changed, run.added, run.removed, run.unchanged),
        (2, 1, 1, 1)
    );
    let ssl = run.changes.iter().find(|c| c.name == "libssl3").unwrap();
    assert_eq!(ssl.class, Some(VersionClass::Revision));
    assert_eq!(ssl.arch.as_deref(), Some("amd64"));
    assert_eq!(
        ssl.purl_after.as_deref(),
        Some("pkg:deb/ubuntu/libssl3@3.0.2-0ubuntu1.10?arch=amd64")
    );
    assert_eq!(
        d.phrases(),
        [
            "run image: 2 OS packages changed (libssl3 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10, \
             openssl 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10), 1 added, 1 removed",
            "paketo-buildpacks/bellsoft-liberica: 1 package changed (bellsoft-jre 17.0.6 → 17.0.7)",
            "app: 1 library changed (spring-core 6.0.9 → 6.0.10), 1 added",
        ]
    );
    // The syft document is preferred over the (empty) CycloneDX one beside it; the SPDX 9 one
    // is a note, the legacy BOM is not compared.
    assert_eq!(d.groups[1].sources_after.len(), 1);
    assert!(d.groups[1].sources_after[0].ends_with("jre/sbom.syft.json (syft JSON 16.0.24)"));
    assert_eq!(
        d.notes.iter().map(|n| n.note.as_str()).collect::<Vec<_>>(),
        ["`layers/sbom/launch/paketo-buildpacks_x/y/sbom.spdx.json`: SBOM format SPDX 9 not understood";
            2]
    );
    let json = serde_json::to_value(&d.groups[1]).unwrap();
    assert_eq!(json["location"], "buildpack");
    assert_eq!(json["buildpack"], "paketo-buildpacks/bellsoft-liberica");
    assert_eq!(
        serde_json::to_value(&d.groups[0]).unwrap()["location"],
        "run-image"
    );
    let back: super::diff::GroupDiff = serde_json::from_value(json).unwrap();
    assert_eq!(back, d.groups[1]);
}

#[test]
fn legacy_label() {
    let mut m = ImageMetadata::default();
    m.labels.insert(
        label::PAKETO_PACKAGES.into(),
        r#"[{"name":"libssl1.1","version":"1.1.1-1ubuntu2.1~18.04.5","arch":"amd64","source":{"name":"openssl","version":"1.1.1-1ubuntu2.1~18.04.5","upstreamVersion":"1.1.1"},"summary":"Secure Sockets Layer toolkit - shared libraries"}]"#.into(),
    );
    let mut newer = m.clone();
    newer.labels.insert(
        label::PAKETO_PACKAGES.into(),
        r#"[{"name":"libssl1.1","version":"1.1.1-1ubuntu2.1~18.04.6","arch":"amd64"}]"#.into(),
    );
    let d = diff(
        &ImagePackages::labels_only(&m),
        &ImagePackages::labels_only(&newer),
        false,
    );
    assert_eq!(
        d.groups[0].sources_after,
        ["label io.paketo.stack.packages"]
    );
    assert_eq!(d.groups[0].changes[0].class, Some(VersionClass::Revision));
    assert_eq!(d.groups[0].changes[0].status, Status::Changed);
    let mut broken = m.clone();
    broken
        .labels
        .insert(label::PAKETO_PACKAGES.into(), "{not json".into());
    let p = ImagePackages::labels_only(&broken);
    assert!(p.groups.is_empty());
    assert!(
        p.notes[0].starts_with("label io.paketo.stack.packages is not a JSON array"),
        "{:?}",
        p.notes
    );
    assert!(ImagePackages::labels_only(&ImageMetadata::default()).is_empty());
    // One side without any record of its OS packages: not "added".
    let d = diff(
        &ImagePackages::labels_only(&ImageMetadata::default()),
        &ImagePackages::labels_only(&newer),
        false,
    );
    assert_eq!(
        d.phrases(),
        ["run image: 1 OS package (not recorded in the old image)"]
    );
}

#[test]
fn oversized_documents_are_notes() {
    let big = vec![b' '; (crate::limits::SBOM_DOC_MAX + 1) as usize];
    let l = scan_layer(&tar(&[("cnb/sbom/bom.cdx.json", big.as_slice())], &[])[..]).unwrap();
    assert!(l.docs.is_empty());
    assert_eq!(
        l.notes,
        ["SBOM `cnb/sbom/bom.cdx.json` is larger than the 32 MiB limit; not read"]
    );
}

#[test]
fn a_layer_of_many_documents_is_bounded_in_total() {
    // Five documents of 50 000 packages each: the fifth passes the layer's package budget.
    let n = crate::limits::SBOM_PACKAGES_MAX;
    let mut doc = String::from(r#"{"artifacts":["#);
    for i in 0..n {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(r#"{{"name":"p{i}"}}"#));
    }
    doc.push_str("]}");
    let paths: Vec<String> = (0..5)
        .map(|i| format!("layers/sbom/launch/b/l{i}/sbom.syft.json"))
        .collect();
    let files: Vec<(&str, &[u8])> = paths.iter().map(|p| (p.as_str(), doc.as_bytes())).collect();
    let l = scan_layer(&tar(&files, &[])[..]).unwrap();
    assert_eq!(l.docs.len(), 4);
    assert!(
        l.notes[0].contains("the rest were not read"),
        "{:?}",
        l.notes
    );
}

#[test]
fn the_history_keeps_a_bounded_plain_list() {
    let p = image(
        &[
            ("libssl3", "3.0.2-0ubuntu1.9"),
            ("openssl", "3.0.2-0ubuntu1.9"),
        ],
        "17.0.6",
        &[SPRING_CORE],
    );
    let all = p.for_history(usize::MAX);
    let n: usize = all.groups.iter().map(|g| g.packages.len()).sum();
    assert_eq!(n, 4, "{all:?}");
    assert!(
        all.groups
            .iter()
            .flat_map(|g| &g.packages)
            .all(|p| p.purl.is_none() && p.arch.is_none())
    );
    // Two kept (the run image's), the rest counted where they were.
    let cut = p.for_history(2);
    assert_eq!(cut.groups[0].packages.len(), 2);
    assert_eq!(cut.groups[0].truncated, 0);
    assert!(cut.groups[1..].iter().all(|g| g.packages.is_empty()));
    assert_eq!(
        cut.groups[1..].iter().map(|g| g.truncated).sum::<usize>(),
        2
    );
    assert_eq!(
        cut.counts(),
        "run image: 2 OS packages, paketo-buildpacks/bellsoft-liberica: 1 package, app: 1 library"
    );
    // What the history compares: the versions, as the full lists would.
    let after = image(
        &[
            ("libssl3", "3.0.2-0ubuntu1.10"),
            ("openssl", "3.0.2-0ubuntu1.9"),
        ],
        "17.0.6",
        &[SPRING_CORE],
    );
    let d = diff(&all, &after.for_history(usize::MAX), true);
    assert_eq!(
        d.phrases(),
        ["run image: 1 OS package changed (libssl3 3.0.2-0ubuntu1.9 → 3.0.2-0ubuntu1.10)"]
    );
}

fn doc(buildpack: &str, layer: &str, json: &str) -> sbom::Doc {
    sbom::Doc {
        path: format!("layers/sbom/launch/{buildpack}/{layer}/sbom.json"),
        buildpack: Some(buildpack.into()),
        layer: Some(layer.into()),
        ext: "cdx".into(),
        parsed: parse(json.as_bytes()).unwrap(),
    }
}

/// packit's layer SBOMs (name = the dependency's display name, purl `pkg:generic/<id>@…`) and
/// syft's scan of a Go binary, as Paketo's buildpacks write them.
#[test]
fn runtimes_from_buildpack_layer_sboms() {
    let cdx = |name: &str, version: &str, purl: &str| {
        format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.3","components":[{{"type":"library","name":"{name}","version":"{version}","purl":"{purl}"}}]}}"#
        )
    };
    let md = ImageMetadata::default();
    for (bp, layer, json, name, version) in [
        (
            "paketo-buildpacks_node-engine",
            "node",
            cdx(
                "Node Engine",
                "24.18.1",
                "pkg:generic/node@v24.18.1?checksum=abc&download_url=https://nodejs.org/dist/v24.18.1/node-v24.18.1-linux-x64.tar.xz",
            ),
            "node",
            "24.18.1",
        ),
        (
            "paketo-buildpacks_cpython",
            "cpython",
            cdx(
                "CPython",
                "3.11.14",
                "pkg:generic/python@3.11.14?checksum=563d",
            ),
            "python",
            "3.11.14",
        ),
        (
            "paketo-buildpacks_dotnet-core-aspnet-runtime",
            "dotnet-core-aspnet-runtime",
            cdx(
                "ASP.NET Core Runtime",
                "8.0.29",
                "pkg:generic/dotnet-core-aspnet-runtime@8.0.29?checksum=aaad",
            ),
            "dotnet",
            "8.0.29",
        ),
        (
            "paketo-buildpacks_mri",
            "mri",
            cdx("Ruby", "3.3.11", "pkg:generic/ruby@3.3.11?checksum=59f0"),
            "ruby",
            "3.3.11",
        ),
        (
            "paketo-buildpacks_php-dist",
            "php",
            cdx("PHP", "8.3.32", "pkg:generic/php@8.3.32?checksum=8e1f"),
            "php",
            "8.3.32",
        ),
        (
            "paketo-buildpacks_nginx",
            "nginx",
            cdx(
                "Nginx Server",
                "1.31.3",
                "pkg:generic/nginx@1.31.3?checksum=1",
            ),
            "nginx",
            "1.31.3",
        ),
        (
            "paketo-buildpacks_httpd",
            "httpd",
            cdx(
                "Apache HTTP Server",
                "2.4.68",
                "pkg:generic/httpd@2.4.68?checksum=1",
            ),
            "httpd",
            "2.4.68",
        ),
    ] {
        let layer = sbom::LayerSboms {
            docs: vec![doc(bp, layer, &json)],
            notes: Vec::new(),
        };
        let found = runtimes(&md, &layer);
        let r = found
            .iter()
            .find(|r| r.name == name)
            .unwrap_or_else(|| panic!("{bp}: {found:?}"));
        assert_eq!(r.version, version);
        assert!(r.source.contains(&bp.replace('_', "/")), "{}", r.source);
    }
}

/// go-build's `targets` SBOM: syft's `stdlib` package (`go1.22.5`) and the main module's build
/// settings, in both shapes syft wrote them (an object before 0.104, an array after);
/// without a `stdlib` (syft before 0.93), the modules' `goCompiledVersion`.
#[test]
fn go_toolchain_and_default_godebug_from_syft() {
    let md = ImageMetadata::default();
    let syft = |settings: &str, stdlib: bool| {
        let std = if stdlib {
            r#"{"name":"stdlib","version":"go1.23.4","type":"go-module","purl":"pkg:golang/stdlib@1.23.4","metadata":{"goCompiledVersion":"go1.23.4"}},"#
        } else {
            ""
        };
        format!(
            r#"{{"schema":{{"version":"16.0.24"}},"artifacts":[{std}{{"name":"example.com/app","version":"(devel)","type":"go-module","purl":"pkg:golang/example.com/app@(devel)","metadata":{{"goCompiledVersion":"go1.23.4","architecture":"amd64","mainModule":"example.com/app"{settings}}}}}]}}"#
        )
    };
    let go = |json: String| {
        let layer = sbom::LayerSboms {
            docs: vec![sbom::Doc {
                ext: "syft".into(),
                ..doc("paketo-buildpacks_go-build", "targets", &json)
            }],
            notes: Vec::new(),
        };
        runtimes(&md, &layer)
            .into_iter()
            .find(|r| r.name == "go")
            .expect("go")
    };
    let array = go(syft(
        r#","goBuildSettings":[{"key":"GOARCH","value":"amd64"},{"key":"DefaultGODEBUG","value":"asynctimerchan=1,tls10server=1"}]"#,
        true,
    ));
    assert_eq!(array.version, "1.23.4");
    assert_eq!(array.recorded.as_deref(), Some("go1.23.4"));
    assert_eq!(
        array.default_godebug.as_deref(),
        Some("asynctimerchan=1,tls10server=1")
    );
    let object = go(syft(
        r#","goBuildSettings":{"GOARCH":"amd64","-trimpath":"true"}"#,
        true,
    ));
    assert_eq!(
        object.default_godebug.as_deref(),
        Some(""),
        "recorded, none kept"
    );
    let old_syft = go(syft("", false));
    assert_eq!(old_syft.version, "1.23.4");
    assert_eq!(old_syft.default_godebug, None, "no build settings recorded");
    assert!(
        old_syft.source.contains("goCompiledVersion"),
        "{}",
        old_syft.source
    );
}
