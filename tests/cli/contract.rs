//! What a published command line promises beyond its output: exit codes (0, 1, 2, the same in
//! every command, as the README's table says), shell completions and man pages, the install
//! instructions matching the release workflow, the changelog gate of a release, and a crate that
//! builds from what `cargo package` ships.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{bpdrift, report_args, root};

const GOOD: &str = "oci:testdata/images:incident-good";
const BAD: &str = "oci:testdata/images:incident-bad";
const MISSING: &str = "oci:testdata/images:no-such-tag";

/// Asserts the exit code of `bpdrift ARGS`.
fn code(args: &[&str], want: i32) {
    let run = bpdrift().args(args).run();
    assert_eq!(
        run.code,
        want,
        "bpdrift {}\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        run.stdout,
        run.stderr
    );
    if want == 2 {
        assert!(
            run.stderr.contains("error"),
            "an error says so: {}",
            run.stderr
        );
    }
}

/// The README's table has the three codes, and `--help`, `--version` and a usage error agree.
#[test]
fn exit_codes_are_documented_once_and_usage_is_2() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let table = readme
        .split("## Exit codes")
        .nth(1)
        .expect("README.md has an Exit codes section");
    for row in ["| 0 |", "| 1 |", "| 2 |"] {
        assert!(table.contains(row), "{row}");
    }
    code(&["--help"], 0);
    code(&["--version"], 0);
    code(&["diff", "--help"], 0);
    code(&["diff", GOOD], 2);
    code(&["no-such-command"], 2);
}

#[test]
fn exit_codes_diff() {
    code(&["diff", GOOD, BAD], 0);
    code(&["diff", GOOD, BAD, "--fail-on", "info"], 1);
    code(
        &["diff", GOOD, BAD, "--fail-on", "info", "--format", "sarif"],
        1,
    );
    code(&["diff", GOOD, MISSING], 2);
}

#[test]
fn exit_codes_inspect() {
    code(&["inspect", GOOD], 0);
    code(&["inspect", "--format", "json", GOOD, BAD], 0);
    code(&["inspect", MISSING], 2);
    // A label that cannot be read is an error after the report.
    code(&["inspect", "oci:testdata/images:broken-labels"], 2);
}

#[test]
fn exit_codes_memory() {
    let img = "oci:testdata/images:jvm-threads-250";
    code(&["memory", img, "--memory", "1G"], 0);
    code(&["memory", img, "--memory", "64M"], 1);
    code(&["memory", MISSING], 2);
}

#[test]
fn exit_codes_rules() {
    let dir = tempfile::tempdir().unwrap();
    let nothing = dir.path().join("nothing.toml");
    std::fs::write(
        &nothing,
        "[[rule]]\nid = \"x\"\nseverity = \"info\"\nsummary = \"s\"\nbuildpack = \"no/such-buildpack\"\n",
    )
    .unwrap();
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[rule]]\nid = \"x\"\n").unwrap();
    let (nothing, broken) = (nothing.to_str().unwrap(), broken.to_str().unwrap());
    code(&["rules", "list"], 0);
    code(&["rules", "list", "--rules", broken], 2);
    code(&["rules", "check", "examples/rules/team.toml"], 0);
    code(&["rules", "check", nothing, "--against", GOOD], 1);
    code(&["rules", "check", broken], 2);
}

#[test]
fn exit_codes_report_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history.sqlite");
    let history = history.to_str().unwrap();
    let strict = dir.path().join("fleet.toml");
    std::fs::write(
        &strict,
        format!(
            "[defaults]\nfail-on = \"info\"\n\n[[service]]\nname = \"checkout\"\ndeployed = \"{GOOD}\"\ncandidate = \"{BAD}\"\n"
        ),
    )
    .unwrap();
    let unreachable = dir.path().join("unreachable.toml");
    std::fs::write(
        &unreachable,
        format!("[[service]]\nname = \"gone\"\ndeployed = \"{MISSING}\"\n"),
    )
    .unwrap();
    let report = |fleet: &str, want: i32| {
        code(
            &report_args(fleet, history, "json", "2026-11-20T06:00:00Z"),
            want,
        )
    };
    code(&["history", "--history", history], 2);
    report("examples/fleet.toml", 0);
    report(strict.to_str().unwrap(), 1);
    report(unreachable.to_str().unwrap(), 2);
    report("no-such-fleet.toml", 2);
    code(&["history", "--history", history], 0);
    code(&["history", "no-such-service", "--history", history], 2);
}

#[test]
fn exit_codes_github() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out/report.json");
    let json = json.to_str().unwrap();
    let comment = |extra: &[&str], want: i32| {
        let mut args = vec!["github", "comment", "--no-comment", "--report-json", json];
        args.extend(extra);
        code(&args, want);
    };
    comment(&[GOOD, BAD], 0);
    comment(&["--fail-on", "info", GOOD, BAD], 1);
    comment(&[GOOD, MISSING], 2);
    comment(&[GOOD, BAD], 0);
    code(&["github", "post", "--no-comment", json], 0);
    code(
        &["github", "post", "--no-comment", "--fail-on", "info", json],
        1,
    );
    code(
        &["github", "post", "--no-comment", "no-such-report.json"],
        2,
    );
}

#[test]
fn exit_codes_schema_completions_man() {
    let dir = tempfile::tempdir().unwrap();
    code(&["schema", "diff"], 0);
    code(&["schema", "no-such-document"], 2);
    code(&["completions", "bash"], 0);
    code(&["completions", "no-such-shell"], 2);
    let out = dir.path().join("man");
    code(&["man", "--out", out.to_str().unwrap()], 0);
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    code(&["man", "--out", file.to_str().unwrap()], 2);
}

/// Every subcommand, nested ones as `rules-list`, from `bpdrift help`'s model as the man pages
/// name them.
fn subcommand_pages() -> Vec<String> {
    let mut pages = vec!["bpdrift".to_string()];
    for (cmd, subs) in [
        ("diff", &[][..]),
        ("rules", &["list", "check"][..]),
        ("inspect", &[]),
        ("memory", &[]),
        ("report", &[]),
        ("history", &[]),
        ("github", &["comment", "post"]),
        ("schema", &[]),
        ("completions", &[]),
        ("man", &[]),
    ] {
        pages.push(format!("bpdrift-{cmd}"));
        pages.extend(subs.iter().map(|s| format!("bpdrift-{cmd}-{s}")));
    }
    pages
}

#[test]
fn man_pages_render_one_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let run = bpdrift().args(["man", "--out"]).arg(dir.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut written: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut want: Vec<String> = subcommand_pages()
        .iter()
        .map(|p| format!("{p}.1"))
        .collect();
    want.sort();
    assert_eq!(written, want);
    for page in &written {
        let out = Command::new("man")
            .args(["-P", "cat", "-l"])
            .arg(dir.path().join(page))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .expect("man runs (scripts/test.sh installs man-db)");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = page.trim_end_matches(".1");
        assert!(text.contains("NAME"), "{page}: {text}");
        assert!(text.contains(name), "{page} names itself: {text}");
        assert!(text.contains("SYNOPSIS"), "{page}: {text}");
    }
    let diff = std::fs::read_to_string(dir.path().join("bpdrift-diff.1")).unwrap();
    assert!(diff.contains("fail\\-on"), "the flags are in the page");
}

#[test]
fn completions_for_every_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = bpdrift().args(["completions", shell]).run();
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        for word in ["diff", "inspect", "schema", "fail-on", "sarif-location"] {
            assert!(run.stdout.contains(word), "{shell} completes {word}");
        }
        if shell == "bash" {
            let file = dir.path().join("bpdrift.bash");
            std::fs::write(&file, &run.stdout).unwrap();
            let check = Command::new("bash").arg("-n").arg(&file).output().unwrap();
            assert!(
                check.status.success(),
                "bash -n: {}",
                String::from_utf8_lossy(&check.stderr)
            );
            // Loaded into a shell, it completes the subcommands.
            let script = format!(
                "source {}; COMP_WORDS=(bpdrift sch); COMP_CWORD=1; COMP_LINE='bpdrift sch'; COMP_POINT=11; _bpdrift bpdrift sch bpdrift; echo \"${{COMPREPLY[@]}}\"",
                file.display()
            );
            let out = Command::new("bash").args(["-c", &script]).output().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                "schema",
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// The README's download commands name exactly the assets `.github/workflows/release.yml`
/// makes: `bpdrift-<version>-<target>.tar.gz` for a target of its matrix, and the checksum file.
#[test]
fn readme_install_names_the_release_assets() {
    let workflow = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let pattern = workflow
        .lines()
        .find_map(|l| l.trim().strip_prefix("name=\""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("release.yml names the archive: name=\"…\"");
    assert!(
        workflow.contains("tar -czf \"dist/$name.tar.gz\""),
        "release.yml archives dist/$name.tar.gz"
    );
    let checksums = workflow
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("sha256sum bpdrift-*.tar.gz >")
                .map(str::to_string)
        })
        .expect("release.yml writes the checksum file");
    let targets: Vec<&str> = workflow
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- target: "))
        .collect();
    assert!(targets.len() >= 2, "{targets:?}");

    let mut urls = 0;
    for url in readme
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("https://github.com/bpdrift/bpdrift/releases/download/"))
    {
        let (tag, file) = url.split_once('/').unwrap();
        let version = tag.strip_prefix('v').expect("release tags are v<version>");
        let assets: Vec<String> = targets
            .iter()
            .map(|t| {
                format!(
                    "{}.tar.gz",
                    pattern
                        .replace("${GITHUB_REF_NAME#v}", version)
                        .replace("$TARGET", t)
                )
            })
            .chain([checksums.clone()])
            .collect();
        assert!(
            assets.contains(&file.to_string()),
            "README downloads {file}; the release has {assets:?}"
        );
        urls += 1;
    }
    assert!(urls >= 2, "README shows the downloads");
    // What it unpacks is what was downloaded.
    for line in readme.lines().filter(|l| l.contains("tar -xzf ")) {
        let archive = line.split("tar -xzf ").nth(1).unwrap().trim();
        assert!(
            readme.contains(&format!("releases/download/v0.1.0/{archive}")),
            "{archive}"
        );
    }
    // And the archive's contents the README names are packed.
    for part in ["LICENSE", "CHANGELOG.md", "completions/", "man/man1"] {
        assert!(workflow.contains(part), "release.yml packs {part}");
        assert!(readme.contains(part), "README names {part}");
    }
}

fn changelog_entry(version: &str, file: &Path) -> (i32, String, String) {
    let out = Command::new("bash")
        .arg(root().join("scripts/changelog-entry.sh"))
        .arg(version)
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The release workflow's gate: a version without a dated Keep a Changelog entry is refused.
#[test]
fn changelog_gate_refuses_a_release_without_an_entry() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("CHANGELOG.md");
    std::fs::write(
        &file,
        "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- next\n\n## [1.2.0] - 2026-05-01\n\n### Added\n\n- schemas\n\n### Fixed\n\n- a bug\n\n## [1.1.0] - 2026-01-01\n\n## [1.0.0] - 2025-12-01\n\n### Added\n\n- everything\n\n## [1.0.0-rc.1] 2025-11-01\n\n### Added\n\n- rc\n",
    )
    .unwrap();
    let (code, notes, _) = changelog_entry("1.2.0", &file);
    assert_eq!(code, 0);
    assert_eq!(notes, "### Added\n\n- schemas\n\n### Fixed\n\n- a bug\n");
    let (code, notes, _) = changelog_entry("1.0.0", &file);
    assert_eq!((code, notes.as_str()), (0, "### Added\n\n- everything\n"));
    let (code, _, err) = changelog_entry("1.3.0", &file);
    assert_eq!(code, 1);
    assert!(err.contains("has no entry for 1.3.0"), "{err}");
    let (code, _, err) = changelog_entry("1.1.0", &file);
    assert_eq!(code, 1, "an empty entry");
    assert!(err.contains("entry of 1.1.0 is empty"), "{err}");
    let (code, _, err) = changelog_entry("1.0.0-rc.1", &file);
    assert_eq!(code, 1, "no date");
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    // `1.2.0` is not `1x2y0`: the version is matched literally.
    let (code, _, _) = changelog_entry("1x2y0", &file);
    assert_eq!(code, 2);
    // The real changelog keeps the format: an Unreleased section with groups.
    let real = std::fs::read_to_string(root().join("CHANGELOG.md")).unwrap();
    assert!(real.contains("## [Unreleased]"));
    assert!(real.contains("keepachangelog.com/en/1.1.0"));
    let version = env!("CARGO_PKG_VERSION");
    let (code, _, _) = changelog_entry(version, &root().join("CHANGELOG.md"));
    assert!(
        code == 0 || !real.contains(&format!("## [{version}]")),
        "the entry of {version} is well-formed"
    );
    let workflow = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    assert!(workflow.contains("scripts/changelog-entry.sh \"${GITHUB_REF_NAME#v}\""));
    assert!(workflow.contains("needs: changelog"));
}

/// `cargo package` ships what the crate needs to build: the packaged `.crate` is unpacked and
/// checked on its own (`cargo check --offline --locked`). Not a full `cargo package` verify,
/// which builds every dependency again in its own directory (minutes on two cores): the check
/// shares this target directory, so only bpdrift itself is compiled (~30 s), and a file missing
/// from the package (an `include_str!`, a module) fails it the same way.
#[test]
fn the_packaged_crate_builds_from_what_it_ships() {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let package_dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO"))
        .args("package --no-verify --allow-dirty --offline --locked".split(' '))
        .arg("--target-dir")
        .arg(package_dir.path())
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo package: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crate_file = package_dir.path().join(format!(
        "package/bpdrift-{}.crate",
        env!("CARGO_PKG_VERSION")
    ));
    let unpacked = tempfile::tempdir().unwrap();
    let tar = Command::new("tar")
        .arg("-xzf")
        .arg(&crate_file)
        .arg("-C")
        .arg(unpacked.path())
        .status()
        .unwrap();
    assert!(tar.success());
    let src = unpacked
        .path()
        .join(format!("bpdrift-{}", env!("CARGO_PKG_VERSION")));
    for file in [
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "Cargo.lock",
        "src/rules/builtin/jvm.toml",
    ] {
        assert!(src.join(file).is_file(), "the package ships {file}");
    }
    let check = Command::new(env!("CARGO"))
        .args(["check", "--offline", "--locked", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .current_dir(&src)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "the packaged crate does not build: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}
