//! Issue 27: arbitrary text in every field an image's author controls (its reference as typed,
//! platform, labels, buildpack ids, versions and homepages, process types and commands, layer
//! names and the versions in their metadata, so the runtimes' sources, run image, stack, env,
//! package names and versions) goes through every output: the diff as table, Markdown and
//! JSON, `inspect` as table and JSON, the fleet report as Markdown, JSON and HTML, and the
//! GitHub comment, job summary, log group and annotations. No output holds a raw control, bidi
//! or invisible format character, and no value starts a line of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;

use crate::image::{Image, Origin, Transport};
use crate::metadata::ImageMetadata;

/// Text made mostly of what attacks a terminal, a log or Markdown, mixed with anything.
fn hostile() -> impl Strategy<Value = String> {
    let c = prop_oneof![
        3 => any::<char>(),
        2 => proptest::sample::select(vec![
            '\u{1b}', '\r', '\n', '\t', '\u{7}', '\u{0}', '\u{7f}', '\u{85}', '\u{9b}', '\u{9d}',
            '\u{202e}', '\u{2066}', '\u{200b}', '\u{200d}', '\u{feff}', '\u{2028}', '\u{e0041}',
            '\u{e007f}', '\u{e0001}', '\u{ad}', '\u{61c}',
        ]),
        3 => proptest::sample::select(vec![
            '[', ']', '(', ')', '<', '>', '|', '`', '@', '#', ':', '/', '\\', '%', '"', '\'', '&',
            ';', ' ', 'a', '1', '.',
        ]),
    ];
    proptest::collection::vec(c, 0..24).prop_map(|v| v.into_iter().collect())
}

/// `s` with a line break and a workflow command after it: a value must never start a line.
fn forging(s: &str) -> String {
    format!("{s}\n::add-mask::FORGED")
}

/// An image whose every author-controlled field holds one of `t` (cycled).
fn image(t: &[String], version: &str) -> Image {
    let v = |i: usize| t[i % t.len()].clone();
    let build = json!({
        "buildpacks": [
            {"id": forging(&v(0)), "version": format!("{}{version}", v(1)), "homepage": format!("https://github.com/a/{}", v(2))},
            {"id": "paketo-buildpacks/syft", "version": format!("1.{version}{}", v(3)), "homepage": "https://github.com/paketo-buildpacks/syft"}
        ],
        "processes": [{"type": forging(&v(4)), "command": [v(5)], "args": [v(6)], "direct": true, "working-dir": v(7)}]
    });
    let lifecycle = json!({
        "buildpacks": [{
            "key": v(0), "version": version,
            "layers": {
                forging(&v(8)): {"launch": true, "data": {"dependency": {"id": "jre", "version": format!("17.0.{version}{}", v(9))}}},
                v(10): {"launch": true, "data": {"dependency": {"id": v(11), "version": v(12), "uri": "x"}}}
            }
        }],
        "runImage": {"image": v(13), "reference": v(14), "topLayer": v(15), "mirrors": [v(16)]}
    });
    let packages = json!([
        {"name": forging(&v(17)), "version": format!("{}{version}", v(18)), "arch": v(19)},
        {"name": "libssl3", "version": format!("3.0.{version}")}
    ]);
    let mut labels = serde_json::Map::new();
    labels.insert(
        "io.buildpacks.build.metadata".into(),
        build.to_string().into(),
    );
    labels.insert(
        "io.buildpacks.lifecycle.metadata".into(),
        lifecycle.to_string().into(),
    );
    labels.insert(
        "io.paketo.stack.packages".into(),
        packages.to_string().into(),
    );
    labels.insert("io.buildpacks.stack.id".into(), v(20).into());
    labels.insert(forging(&v(21)), format!("{}{version}", v(22)).into());
    let config = json!({
        "os": v(23), "architecture": "amd64",
        "config": {"Env": [format!("K={}{version}", v(24)), format!("{}=x", v(25))], "Labels": labels, "User": v(26)},
        "rootfs": {"type": "layers", "diff_ids": [v(27)]}
    });
    let metadata = ImageMetadata::from_config(config.to_string().as_bytes())
        .expect("a config made by serde is JSON");
    Image {
        origin: Origin {
            reference: forging(&v(28)),
            transport: Transport::Oci,
            digest: Some(v(29)),
            index_digest: Some(v(30)),
            config_digest: v(31),
            platform: v(32),
        },
        layers: Vec::new(),
        metadata,
    }
}

/// No unsafe character but `\n`, and no line that a value started.
fn assert_inert(what: &str, text: &str) -> Result<(), TestCaseError> {
    for c in text.chars() {
        prop_assert!(
            c == '\n' || !crate::sanitize::is_unsafe(c),
            "{}: raw U+{:04X} in\n{}",
            what,
            u32::from(c),
            text.escape_debug()
        );
    }
    for line in text.lines() {
        // Where the runner looks for a workflow command (it trims whitespace), or where a table
        // row starts a line of its own.
        let start = line.trim_start_matches([' ', '\t', '│', '┆']);
        prop_assert!(
            !start.starts_with("::add-mask") && !start.starts_with("FORGED"),
            "{}: a value started a line: {}",
            what,
            line
        );
    }
    Ok(())
}

/// `text` without bpdrift's own style marks (a mark and its role, an end), as the guard reads
/// them; a mark without a role stays, and is then an unsafe character.
fn without_marks(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{e0001}'
                if chars
                    .peek()
                    .is_some_and(|r| ('\u{e0041}'..='\u{e0048}').contains(r)) =>
            {
                chars.next();
            }
            // Ends are dropped, with a style open or not (a word its table wrapped).
            '\u{e007f}' => {}
            c => out.push(c),
        }
    }
    out
}

fn rendered(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut buf = Vec::new();
    f(&mut buf).expect("rendering to memory");
    String::from_utf8(buf).expect("renderers write UTF-8")
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn no_output_carries_a_control_character(t in proptest::collection::vec(hostile(), 33)) {
        let (before, after) = (image(&t, "1.0.0"), image(&t, "2.0.1"));
        let rules = crate::rules::RuleSet::builtin();
        let mut report = crate::report::assess(&before, &after, &rules, true, None, None);
        // Release notes come from the internet (`diff --release-notes`).
        report.release_notes = vec![crate::release_notes::BuildpackNotes {
            buildpack: forging(&t[0]),
            repository: t[1].clone(),
            from: t[2].clone(),
            to: t[3].clone(),
            releases: vec![crate::release_notes::Note {
                version: forging(&t[4]),
                url: format!("https://github.com/a/b/releases/tag/{}", t[5]),
                headline: forging(&t[6]),
                body: forging(&t[7]),
                truncated: false,
                published_at: Some(t[8].clone()),
            }],
            more: 1,
            note: Some(forging(&t[9])),
        }];
        report.release_notes_warning = Some(forging(&t[10]));

        // The diff.
        use crate::render::Format;
        for format in [Format::Table, Format::Markdown, Format::Json] {
            let text = rendered(|b| crate::render::render(&report, format, b));
            // Marks only in the table, only well-formed (the guard makes them colour or nothing).
            let text = if format == Format::Table { without_marks(&text) } else { text };
            assert_inert(&format!("diff {format:?}"), &text)?;
        }
        // inspect.
        let summaries = [crate::report::ImageSummary::of(&before), crate::report::ImageSummary::of(&after)];
        assert_inert("inspect table", &without_marks(&rendered(|b| crate::render::inspect_table(&summaries, b))))?;
        assert_inert("inspect json", &rendered(|b| crate::render::inspect_json(&summaries, b)))?;

        // The GitHub side: comment, job summary, log group, annotations.
        let markdown = rendered(|b| crate::render::render(&report, Format::Markdown, b));
        let body = crate::github::comment::comment_body(
            &crate::github::comment::marker("k"),
            &markdown,
            &crate::github::comment::footer(None, None),
        );
        assert_inert("comment", &body)?;
        let summary = crate::github::comment::fit("", &markdown, "", "> note\n", 1 << 20);
        assert_inert("summary", &summary)?;
        let table = rendered(|b| crate::render::render(&report, Format::Table, b));
        let log = crate::github::workflow::workflow_log(&report.summary.verdict, &crate::sanitize::guard::unpainted(&table));
        assert_inert("log", &log.lines().filter(|l| !l.starts_with("::")).collect::<Vec<_>>().join("\n"))?;
        let notes: Vec<crate::github::workflow::Note> = report
            .findings
            .iter()
            .map(|f| crate::github::workflow::Note {
                severity: f.severity,
                rule: f.rule.clone(),
                subject: f.change.subject.clone(),
                summary: f.summary.clone(),
            })
            .collect();
        let annotations = crate::github::workflow::annotations(&notes);
        for c in annotations.chars() {
            prop_assert!(c == '\n' || !crate::sanitize::is_unsafe(c), "annotation U+{:04X}", u32::from(c));
        }
        prop_assert_eq!(annotations.lines().count(), notes.len(), "one line per annotation");

        // The fleet report.
        let name = forging(&t[0]);
        let service = crate::fleet::file::Service {
            name: name.clone(),
            images: vec![
                ("deployed".into(), crate::reference::ImageRef::OciLayout { dir: "a".into(), tag: None }),
                ("candidate".into(), crate::reference::ImageRef::OciLayout { dir: "b".into(), tag: None }),
                ("nightly".into(), crate::reference::ImageRef::OciLayout { dir: "c".into(), tag: None }),
            ],
            last_good: Vec::new(),
            rules: Vec::new(),
            ignore: Vec::new(),
            fail_on: crate::rules::FailOn::Error,
            platform: crate::reference::Platform::linux_amd64(),
            sbom: false,
        };
        let fleet = crate::fleet::file::Fleet { services: vec![service], rollback_targets: 3, in_file: 1 };
        let rule_sets = BTreeMap::from([(name.clone(), Arc::new(rules))]);
        let context = crate::fleet::assess::Context {
            fleet: &fleet,
            fleet_name: &t[1],
            rules: &rule_sets,
            now: 1_795_426_800,
            expect_every: None,
        };
        let observed = crate::fleet::assess::Observed {
            images: BTreeMap::from([
                ((name.clone(), "deployed".into()), Ok(before)),
                ((name.clone(), "candidate".into()), Ok(after)),
                ((name.clone(), "nightly".into()), Err(forging(&t[2]))),
            ]),
            ..Default::default()
        };
        let fleet_report = crate::fleet::assess::assess(&context, observed).report;
        assert_inert("fleet markdown", &rendered(|b| crate::render::FleetFormat::Markdown.write(&fleet_report, b)))?;
        assert_inert("fleet html", &rendered(|b| crate::render::FleetFormat::Html.write(&fleet_report, b)))?;
        assert_inert("fleet json", &rendered(|b| crate::sanitize::json::write(b, &fleet_report)))?;
    }
}
