//! Issue 27, terminal and log injection: an image whose labels, buildpack ids and versions,
//! layer metadata (and so its runtimes' sources), package names and env hold ESC/CSI, OSC 52,
//! OSC 8, a bare `\r`, bidi overrides and zero-width characters. Every output shows them
//! escaped (`\e[2J`, `\u{202e}`) and none raw: the table piped and on a terminal, Markdown,
//! JSON, `inspect`, the HTML report, the GitHub job summary, log group, annotations and saved
//! Markdown, and the log lines on stderr. A release-notes link built from a version is
//! percent-encoded.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::{bpdrift, hostile};

/// Every attack in one string: CSI (clear screen, colour), OSC 52 (clipboard), OSC 8 (a link),
/// a bare CR, C1 CSI, bidi override and isolate, zero-width space, BOM, a line break that
/// would start a workflow command.
const EVIL: &str = "x\u{1b}[2J\u{1b}[31mred\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}]8;;https://evil.example/\u{1b}\\link\u{1b}]8;;\u{1b}\\\rOVER\u{9b}6n\u{202e}gpj.exe\u{2066}\u{200b}\u{feff}\n::add-mask::FORGED";

/// Characters that must never appear raw in an output (`\n` aside; a pseudo-terminal adds
/// `\r` before each `\n`, allowed there only).
fn is_raw_control(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{e0000}'..='\u{e007f}')
}

/// Asserts `text` holds no raw control or bidi character, no line that starts (after
/// indentation and table borders) with the forged line, and shows the attack escaped.
fn assert_inert(what: &str, text: &str) {
    for (i, c) in text.char_indices() {
        assert!(
            !is_raw_control(c),
            "{what}: raw U+{:04X} at byte {i}:\n{}",
            u32::from(c),
            text.escape_debug()
        );
    }
    for line in text.lines() {
        let start = line.trim_start_matches([' ', '│', '┆', '|', '-', '*']);
        assert!(
            !start.starts_with("::add-mask::") && !start.starts_with("FORGED"),
            "{what}: a value started a line: {line}"
        );
    }
}

/// `assert_inert`, and the attack is shown (escaped) rather than dropped.
fn assert_shown(what: &str, text: &str, escaped: &[&str]) {
    assert_inert(what, text);
    for e in escaped {
        assert!(text.contains(e), "{what}: {e:?} not shown:\n{text}");
    }
}

/// An image whose every untrusted field carries `EVIL`, at buildpack version `version`.
fn hostile_image(dir: &Path, version: &str) {
    let id = format!("evil/bp{EVIL}");
    let build = json!({
        "buildpacks": [{
            "id": id, "version": version,
            "homepage": "https://github.com/evil/bp"
        }],
        "processes": [{"type": format!("web{EVIL}"), "command": [format!("run{EVIL}")], "args": [], "direct": true}]
    });
    let lifecycle = json!({
        "buildpacks": [{
            "key": id, "version": version,
            "layers": {
                format!("jre{EVIL}"): {
                    "launch": true,
                    "data": {"dependency": {"id": "jre", "version": format!("17.0.{version}{EVIL}")}}
                }
            }
        }],
        "runImage": {"image": format!("run{EVIL}:1"), "reference": format!("run@sha256:{EVIL}")}
    });
    let packages = json!([{"name": format!("libssl{EVIL}"), "version": format!("3.0.{version}{EVIL}"), "arch": "amd64"}]);
    hostile::write_layout(
        dir,
        &hostile::config(
            &[&format!("NOTE={EVIL}{version}")],
            json!({
                "io.buildpacks.build.metadata": build.to_string(),
                "io.buildpacks.lifecycle.metadata": lifecycle.to_string(),
                "io.paketo.stack.packages": packages.to_string(),
                "io.buildpacks.stack.id": format!("stack{EVIL}"),
                format!("org.example.label{EVIL}"): format!("{EVIL}{version}"),
            }),
        ),
        &[],
        |_| {},
    );
}

/// Two hostile images: version 1.0.0, then a version that tries to leave a link.
fn pair() -> (tempfile::TempDir, String, String) {
    let d = tempfile::tempdir().unwrap();
    let mut refs = Vec::new();
    for (name, version) in [
        ("before", "1.0.0"),
        ("after", "2.0.0) [x](https://evil.example/?a) \u{1b}[2J"),
    ] {
        let dir = d.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        hostile_image(&dir, version);
        refs.push(format!("oci:{}", dir.display()));
    }
    let after = refs.pop().unwrap();
    (d, refs.pop().unwrap(), after)
}

/// The escaped forms every human format shows.
const SHOWN: &[&str] = &["\\e[2J", "\\u{202e}", "\\r"];

#[test]
fn the_table_and_markdown_show_every_attack_escaped() {
    let (_d, before, after) = pair();
    for format in ["table", "markdown", "json"] {
        let run = bpdrift()
            .args(["-vv", "diff", "--all", "--format", format, &before, &after])
            .run();
        assert!(run.code == 0 || run.code == 1, "{}", run.snapshot());
        match format {
            "json" => {
                assert_inert(format, &run.stdout);
                // Escaped the JSON way, and read back as written.
                let v: Value = serde_json::from_str(&run.stdout).unwrap();
                assert!(v.to_string().contains('\u{202e}'), "{}", run.stdout);
                assert!(run.stdout.contains(r"\u202e"), "{}", run.stdout);
            }
            "markdown" => assert_shown(format, &run.stdout, &["\\\\e\\[2J", "\\u{202e}"]),
            _ => assert_shown(format, &run.stdout, SHOWN),
        }
        assert_inert(&format!("{format} stderr"), &run.stderr);
        if format == "table" {
            // Package names, runtime sources (built from buildpack ids and layer names) and
            // layer metadata versions are there, escaped.
            for needle in ["libssl", "READ FROM", "jrex\\e[2J", "webx\\e[2J"] {
                assert!(run.stdout.contains(needle), "{needle}:\n{}", run.stdout);
            }
        }
    }
}

#[test]
fn release_notes_links_built_from_versions_are_percent_encoded() {
    let (_d, before, after) = pair();
    let run = bpdrift()
        .args(["diff", "--format", "markdown", &before, &after])
        .run();
    assert!(run.code == 0 || run.code == 1, "{}", run.snapshot());
    assert!(
        run.stdout.contains(
            "https://github.com/evil/bp/releases/tag/v2.0.0%29%20%5Bx%5D%28https%3A%2F%2Fevil.example%2F%3Fa%29%20%1B%5B2J"
        ),
        "{}",
        run.stdout
    );
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.render.r#unsafe = true;
    let html = comrak::markdown_to_html(&run.stdout, &options);
    assert!(!html.contains("href=\"https://evil.example"), "{html}");
}

#[test]
fn inspect_shows_every_attack_escaped() {
    let (_d, _before, after) = pair();
    for format in ["table", "json"] {
        let run = bpdrift()
            .args(["inspect", "--format", format, &after])
            .run();
        assert_eq!(run.code, 0, "{}", run.snapshot());
        if format == "json" {
            assert_inert(format, &run.stdout);
        } else {
            assert_shown(format, &run.stdout, SHOWN);
        }
    }
}

#[test]
fn the_fleet_report_in_every_format_holds_no_control() {
    let (d, before, after) = pair();
    let fleet = d.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        format!("[[service]]\nname = \"svc\"\ndeployed = \"{before}\"\ncandidate = \"{after}\"\n"),
    )
    .unwrap();
    for format in ["markdown", "json", "html"] {
        let history = d.path().join(format!("{format}.sqlite"));
        let out = d.path().join(format!("report.{format}"));
        let run = bpdrift()
            .args(["report", "--no-cache", "--format", format, "--fleet"])
            .arg(&fleet)
            .arg("--history")
            .arg(&history)
            .arg("--out")
            .arg(&out)
            .run();
        assert!(run.code == 0 || run.code == 1, "{}", run.snapshot());
        let text = std::fs::read_to_string(&out).unwrap();
        assert_inert(format, &text);
        if format == "html" {
            assert!(text.contains("\\u{202e}"), "{text}");
        }
        let h = bpdrift().args(["history", "--history"]).arg(&history).run();
        assert_eq!(h.code, 0, "{}", h.snapshot());
        assert_inert("history", &h.stdout);
    }
}

#[test]
fn github_surfaces_show_every_attack_escaped() {
    let (d, before, after) = pair();
    let summary = d.path().join("summary.md");
    let output = d.path().join("output.txt");
    let report = d.path().join("out/report.json");
    let run = bpdrift()
        .args(["github", "comment", "--no-comment", "--fail-on", "never"])
        .arg("--report-json")
        .arg(&report)
        .args([&before, &after])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .run();
    assert_eq!(run.code, 0, "{}", run.snapshot());
    // The log group (the table) and the annotations: no raw control, no command but ours.
    assert_shown("log", &run.stdout, &["\\e[2J"]);
    let commands: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("::"))
        .collect();
    assert!(
        commands.iter().all(|l| {
            [
                "::group::",
                "::stop-commands::",
                "::endgroup::",
                "::notice",
                "::warning",
                "::error",
            ]
            .iter()
            .any(|c| l.starts_with(c))
                || l.ends_with("::") && l.len() == 36
        }),
        "{commands:?}"
    );
    for file in [&summary, &report.with_extension("md"), &report] {
        let text = std::fs::read_to_string(file).unwrap();
        assert_inert(&file.display().to_string(), &text);
    }
    assert_inert("stderr", &run.stderr);
}

#[test]
fn log_lines_and_errors_are_escaped() {
    // A label that is not JSON: its problem is an error line quoting the parser, and -vv logs
    // every label it reads.
    let d = tempfile::tempdir().unwrap();
    hostile::write_layout(
        d.path(),
        &hostile::config(
            &[],
            json!({"io.buildpacks.build.metadata": format!("{{\"buildpacks\": [{{\"id\": \"{EVIL}")}),
        ),
        &[],
        |_| {},
    );
    let r = format!("oci:{}", d.path().display());
    let run = bpdrift().args(["-vv", "diff", &r, &r]).run();
    assert_eq!(run.code, 2, "{}", run.snapshot());
    assert_inert("stderr", &run.stderr);
    assert_inert("stdout", &run.stdout);
}
