//! Issue 28, colour as ripgrep does it: `--color always` colours, a pipe does not, a terminal
//! does (a pseudo-terminal made by util-linux `script`), `NO_COLOR` on a terminal does not,
//! `CLICOLOR_FORCE` does, `--color never` on a terminal prints the plain table; JSON, Markdown
//! and files are never coloured. The only escape sequences are bpdrift's own SGR colours.

use crate::common::{bpdrift, strip_sgr};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";

/// Runs `bpdrift ARGS` on a pseudo-terminal of 200 columns with `env` (TERM=xterm unless set);
/// its output with the terminal's `\r\n` made `\n`.
fn on_terminal(args: &str, env: &[(&str, &str)]) -> String {
    let bin = env!("CARGO_BIN_EXE_bpdrift");
    let mut cmd = std::process::Command::new("script");
    cmd.args([
        "-qec",
        &format!("stty rows 50 cols 200; {bin} {args}"),
        "/dev/null",
    ])
    .current_dir(crate::common::root())
    .env_clear()
    .env("PATH", "/usr/bin:/bin")
    .env("HOME", std::env::temp_dir())
    .env("TERM", "xterm");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = cmd.output().expect("util-linux script");
    let out = String::from_utf8_lossy(&run.stdout).replace("\r\n", "\n");
    assert!(
        run.status.code().is_some_and(|c| c < 2),
        "{args}: {out}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    out
}

/// Whether `text` holds an SGR sequence, and no escape sequence of any other kind.
fn coloured(text: &str) -> bool {
    let plain = strip_sgr(text);
    assert!(
        !plain.contains('\u{1b}'),
        "an escape sequence that is not a colour:\n{}",
        plain.escape_debug()
    );
    plain.len() != text.len()
}

const DIFF: &str = "diff oci:testdata/images:incident-good oci:testdata/images:incident-bad";

#[test]
fn a_terminal_is_coloured_unless_no_color() {
    let tty = on_terminal(DIFF, &[]);
    assert!(coloured(&tty), "a terminal: {tty}");
    // Severities, version moves and headings.
    for painted in [
        "\u{1b}[1mFindings",
        "\u{1b}[36minfo",
        "\u{1b}[32mpatch",
        "\u{1b}[33mminor",
    ] {
        assert!(tty.contains(painted), "{painted:?} in {tty}");
    }
    assert!(
        !coloured(&on_terminal(DIFF, &[("NO_COLOR", "1")])),
        "NO_COLOR"
    );
    assert!(
        !coloured(&on_terminal(DIFF, &[("TERM", "dumb")])),
        "TERM=dumb"
    );
    // NO_COLOR beats CLICOLOR_FORCE; --color always beats both.
    assert!(!coloured(&on_terminal(
        DIFF,
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]
    )));
    assert!(coloured(&on_terminal(
        &format!("--color always {DIFF}"),
        &[("NO_COLOR", "1")]
    )));
}

#[test]
fn never_on_a_terminal_prints_the_plain_table() {
    let never = on_terminal(&format!("{DIFF} --color never"), &[]);
    assert!(!coloured(&never), "{never}");
    let coloured_tty = on_terminal(DIFF, &[]);
    // The same table, without its colours (the width is the terminal's either way).
    assert_eq!(strip_sgr(&coloured_tty), never);
    let piped = bpdrift()
        .env("COLUMNS", "200")
        .args(["diff", GOOD, BAD])
        .run();
    assert_eq!(
        piped.stdout, never,
        "a terminal without colour = the piped table"
    );
}

#[test]
fn pipes_are_plain_unless_forced() {
    let piped = bpdrift().args(["diff", GOOD, BAD]).run();
    assert!(!coloured(&piped.stdout), "{}", piped.stdout);
    let forced = bpdrift()
        .env("CLICOLOR_FORCE", "1")
        .args(["diff", GOOD, BAD])
        .run();
    assert!(
        coloured(&forced.stdout),
        "CLICOLOR_FORCE: {}",
        forced.stdout
    );
    let always = bpdrift()
        .args(["diff", "--color", "always", GOOD, BAD])
        .run();
    assert!(
        coloured(&always.stdout),
        "--color always: {}",
        always.stdout
    );
    assert_eq!(strip_sgr(&always.stdout), piped.stdout);
    let rules = bpdrift().args(["--color", "always", "rules", "list"]).run();
    assert!(coloured(&rules.stdout), "rules list: {}", rules.stdout);
}

#[test]
fn json_markdown_html_and_files_are_never_coloured() {
    for format in ["json", "markdown"] {
        let run = bpdrift()
            .args(["diff", "--color", "always", "--format", format, GOOD, BAD])
            .run();
        assert!(!run.stdout.contains('\u{1b}'), "{format}: {}", run.stdout);
    }
    let on_tty = on_terminal(&format!("{DIFF} --format markdown"), &[]);
    assert!(!coloured(&on_tty), "{on_tty}");
    let inspect = bpdrift()
        .args(["inspect", "--color", "always", "--format", "json", GOOD])
        .run();
    assert!(!inspect.stdout.contains('\u{1b}'), "{}", inspect.stdout);
    // Files: the saved report and Markdown of `github comment`, with colour forced.
    let d = tempfile::tempdir().unwrap();
    let report = d.path().join("report.json");
    let run = bpdrift()
        .args(["github", "comment", "--no-comment", "--color", "always"])
        .arg("--report-json")
        .arg(&report)
        .args([GOOD, BAD])
        .env("GITHUB_STEP_SUMMARY", d.path().join("summary.md"))
        .run();
    assert!(run.code < 2, "{}", run.snapshot());
    for f in ["report.json", "report.md", "summary.md"] {
        let text = std::fs::read_to_string(d.path().join(f)).unwrap();
        assert!(!text.contains('\u{1b}'), "{f}: {text}");
    }
}
