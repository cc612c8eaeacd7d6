//! Property tests over every parser of untrusted input: whatever the bytes, no panic, and the
//! work stays bounded (each call well under a second). A fixed, small case budget keeps
//! `scripts/test.sh` fast; `PROPTEST_CASES=10000 cargo test --lib proptests` digs deeper.
//!
//! Parsers covered here: image references, image configs and their labels, manifests and
//! indexes, rule and fleet TOML, layer tars (whiteouts, `env.launch` files, jars), jars (zip),
//! durations, sizes, RFC 3339 and HTTP dates, meminfo, secret redaction, docker config files,
//! SBOM documents and the layers that hold them, package versions (dpkg's order).
//! Auth challenges and registry error bodies: `source::registry` tests (private parsers).
//! What every output format makes of arbitrary text: `outputs` (nothing unsafe survives).

mod outputs;

use std::time::{Duration, Instant};

use proptest::prelude::*;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
pub(crate) fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        // Failures are reported with their input; nothing is written next to the sources.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs `f`, asserting it returns within `limit` (bounded work on hostile input).
pub(crate) fn bounded<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    assert!(took < limit, "took {took:?}");
    out
}

const SECOND: Duration = Duration::from_secs(1);

/// JSON-ish text: mostly the characters JSON is made of, so parsers get past the first byte.
fn jsonish() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r#"[\[\]{}":,0-9a-zA-Z .\-\\]{0,300}"#).expect("regex")
}

/// TOML-ish text.
fn tomlish() -> impl Strategy<Value = String> {
    proptest::string::string_regex(r#"[\[\]{}"=,.0-9a-z\n #'\-]{0,400}"#).expect("regex")
}

fn layer_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("workspace/A.class".to_string()),
        Just("workspace/lib/x.jar".to_string()),
        Just("workspace/.wh.A.class".to_string()),
        Just("workspace/.wh..wh..opq".to_string()),
        Just("layers/a_b/l/env.launch/JAVA_TOOL_OPTIONS.append".to_string()),
        Just("layers/a_b/l/env/BPI_JVM_CLASS_COUNT.default".to_string()),
        "[a-z/._]{1,40}",
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn references(s in "\\PC{0,200}") {
        bounded(SECOND, || { let _ = s.parse::<crate::reference::ImageRef>(); });
    }

    #[test]
    fn references_registry_shaped(
        host in "[a-z0-9.:\\[\\]-]{0,40}",
        repo in "[a-zA-Z0-9/._-]{0,80}",
        tail in "[:@a-z0-9]{0,80}",
    ) {
        let s = format!("{host}/{repo}{tail}");
        bounded(SECOND, || { let _ = s.parse::<crate::reference::ImageRef>(); });
    }

    #[test]
    fn engine_inspect_documents(s in jsonish(), id in "[0-9a-f:sha]{0,70}") {
        // What a local engine answers to `GET /images/{name}/json`, then the config made of it.
        let doc = format!(r#"{{"Id":"{id}","Config":{s}}}"#);
        for body in [s.as_str(), doc.as_str()] {
            bounded(SECOND, || {
                if let Ok((f, _)) = crate::source::daemon::from_inspect(body.as_bytes()) {
                    let _ = crate::metadata::ImageMetadata::from_config(&f.config);
                }
            });
        }
    }

    #[test]
    fn image_configs(s in jsonish()) {
        bounded(SECOND, || { let _ = crate::metadata::ImageMetadata::from_config(s.as_bytes()); });
    }

    #[test]
    fn labels(build in jsonish(), lifecycle in jsonish(), builder in jsonish()) {
        let config = serde_json::json!({
            "os": "linux", "architecture": "amd64",
            "config": { "Labels": {
                crate::metadata::label::BUILD: build,
                crate::metadata::label::LIFECYCLE: lifecycle,
                crate::metadata::label::BUILDER: builder,
            }}
        });
        let bytes = serde_json::to_vec(&config).unwrap();
        let md = bounded(SECOND, || crate::metadata::ImageMetadata::from_config(&bytes))
            .expect("the config itself is valid");
        // Problems name the label and stay short whatever the value.
        for p in &md.problems {
            prop_assert!(p.message.len() <= crate::limits::SHOWN_VALUE_MAX + 40);
        }
    }

    #[test]
    fn manifests_and_indexes(s in jsonish(), ct in prop::option::of("[a-z./+-]{0,60}")) {
        bounded(SECOND, || {
            if let Ok(crate::source::manifest::Manifest::Index(idx)) =
                crate::source::manifest::parse(s.as_bytes(), ct.as_deref())
            {
                let _ = crate::source::manifest::select(&idx, &crate::reference::Platform::linux_amd64());
            }
        });
    }

    #[test]
    fn rule_files(s in tomlish()) {
        let f = bounded(SECOND, || crate::rules::parse_file("rules.toml", &s));
        bounded(SECOND, || crate::rules::render_diagnostics(&f));
    }

    #[test]
    fn rule_files_rule_shaped(
        id in "[a-z.-]{0,20}", key in "[a-z-]{1,12}", value in "[\"a-z0-9<>=.* ]{0,30}",
    ) {
        let s = format!("[[rule]]\nid = \"{id}\"\nseverity = \"warning\"\n{key} = {value}\n");
        let f = bounded(SECOND, || crate::rules::parse_file("rules.toml", &s));
        bounded(SECOND, || crate::rules::render_diagnostics(&f));
    }

    #[test]
    fn fleet_files(s in tomlish()) {
        let f = bounded(SECOND, || {
            crate::fleet::file::parse_fleet("fleet.toml", &s, std::path::Path::new("."))
        });
        bounded(SECOND, || f.render_diagnostics());
    }

    #[test]
    fn layer_tars(files in prop::collection::vec((layer_path(), prop::collection::vec(any::<u8>(), 0..200)), 0..12)) {
        let tar = crate::memory::image_tests::tar(
            &files
                .iter()
                .map(|(p, d)| (p.as_str(), d.as_slice()))
                .collect::<Vec<_>>(),
            &[],
        );
        bounded(SECOND, || {
            let mut s = crate::memory::Scanner::default();
            if let Ok(l) = crate::memory::LayerSummary::read(&tar[..]) {
                s.apply(&l);
                let _ = s.finish(&Default::default(), &Default::default(), &[]);
            }
        });
    }

    #[test]
    fn layer_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        bounded(SECOND, || { let _ = crate::memory::LayerSummary::read(&bytes[..]); });
        bounded(SECOND, || {
            let _ = crate::source::scan_blob(&bytes[..], "", &mut |r| {
                std::io::copy(r, &mut std::io::sink()).map(|_| ())
            });
        });
    }

    #[test]
    fn jars(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        bounded(SECOND, || { let _ = crate::memory::jar_classes(&bytes, true); });
        // A zip's end record with garbage around it.
        let mut z = bytes.clone();
        z.extend_from_slice(&[0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        z.extend_from_slice(&[0; 10]);
        bounded(SECOND, || { let _ = crate::memory::jar_classes(&z, true); });
    }

    #[test]
    fn durations_sizes_dates(s in "[0-9dhmsKMGTkiB .:TZ+-]{0,40}") {
        bounded(SECOND, || {
            let _ = crate::fleet::parse_duration(&s);
            let _ = s.parse::<crate::memory::Size>();
            let _ = crate::memory::Size::parse(&s);
            let _ = crate::clock::parse_rfc3339(&s);
            let _ = crate::clock::parse_http_date(&s);
            let _ = crate::memory::parse_meminfo(&s);
            let _ = crate::memory::ClassAdjustment::parse(&s);
        });
    }

    #[test]
    fn durations_never_wrap(n in any::<u64>(), unit in "[dhms]") {
        let s = format!("{n}{unit}");
        if let Some(secs) = crate::fleet::parse_duration(&s) {
            let mult = match unit.as_str() { "d" => 86_400, "h" => 3600, "m" => 60, _ => 1 };
            prop_assert_eq!(secs as i128, n as i128 * mult);
        }
    }

    #[test]
    fn redaction(s in "\\PC{0,300}") {
        let r = bounded(SECOND, || crate::redact::redact_value(&s).into_owned());
        bounded(SECOND, || crate::redact::scrub(&r));
        bounded(SECOND, || crate::redact::without_values(&s));
    }

    #[test]
    fn redaction_removes_the_secret(
        pw in "[A-Za-z0-9]{6,20}",
        form in 0usize..7,
    ) {
        let v = [
            format!("postgres://u:{pw}@h/db"),
            format!("https://{pw}@sentry.io/1"),
            format!("jdbc:x://h;password={pw};a=b"),
            format!("https://h/p?a=1&token={pw}"),
            format!("-Xmx1g -Ddb.password={pw}"),
            format!("invalid image reference `me:{pw}@ghcr.io/a/b:1`"),
            format!("-Dhttp.proxy=me:{pw}@proxy:3128"),
        ][form].clone();
        let r = crate::redact::redact_value(&v);
        prop_assert!(!r.contains(&pw), "{}", r);
    }

    #[test]
    fn docker_config_files(s in jsonish()) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("config.json");
        std::fs::write(&p, &s).unwrap();
        // The lookup is async (credential helpers run as child processes): one runtime per case.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        bounded(SECOND, || {
            let _ = rt.block_on(crate::source::auth::lookup_docker_config(&p, "ghcr.io"));
        });
    }

    #[test]
    fn sbom_documents(s in jsonish()) {
        bounded(SECOND, || { let _ = crate::packages::sbom::parse(s.as_bytes()); });
    }

    #[test]
    fn sbom_layers(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        bounded(SECOND, || { let _ = crate::packages::sbom::scan_layer(&data[..]); });
    }

    #[test]
    fn dpkg_order_is_a_total_order(
        a in "([0-9]:)?[0-9a-z.+~]{0,8}(-[0-9a-z.+~]{1,6})?",
        b in "([0-9]:)?[0-9a-z.+~]{0,8}(-[0-9a-z.+~]{1,6})?",
        c in "([0-9]:)?[0-9a-z.+~]{0,8}(-[0-9a-z.+~]{1,6})?",
    ) {
        use crate::packages::dpkg::{classify_deb, compare_deb};
        use std::cmp::Ordering::*;
        prop_assert_eq!(compare_deb(&a, &b), compare_deb(&b, &a).reverse());
        if compare_deb(&a, &b) != Greater && compare_deb(&b, &c) != Greater {
            prop_assert_ne!(compare_deb(&a, &c), Greater);
        }
        // The class agrees with the order: none exactly when equal, a downgrade exactly when lower.
        let class = classify_deb(&a, &b);
        prop_assert_eq!(class.is_none(), compare_deb(&a, &b) == Equal);
        prop_assert_eq!(
            class == Some(crate::version::VersionClass::Downgrade),
            compare_deb(&b, &a) == Less
        );
    }
}
