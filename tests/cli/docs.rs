//! Issue 14: the docs are executed. Every ```` ```console ```` block in README.md and docs/*.md
//! holds `$ bpdrift …` commands, each followed by its quoted output; this test runs each
//! command from the repository root (with `COLUMNS=100`, so tables wrap as quoted) and compares
//! the output line by line. A line `…` in a quote stands for any number of lines. Blocks marked
//! ```` ```console registry ```` run against the test registry: `REGISTRY` is its address, and
//! `REGISTRY/<repo>:<tag>` is seeded from `oci:testdata/images:<tag>` first.

use std::path::Path;

use crate::common::{Registry, root};

/// One command and the output the docs quote for it.
#[derive(Debug)]
struct Example {
    file: String,
    line: usize,
    command: String,
    expected: Vec<String>,
    registry: bool,
}

fn examples(file: &str, text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    // (registry?, the fence's indentation: a block inside a list item is indented).
    let mut in_block: Option<(bool, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        match in_block {
            None => {
                let t = raw.trim_start();
                if let Some(info) = t.strip_prefix("```console") {
                    let registry = info.split_whitespace().any(|w| w == "registry");
                    in_block = Some((registry, raw.len() - t.len()));
                }
            }
            Some((registry, indent)) => {
                let line = raw
                    .get(indent..)
                    .filter(|_| raw[..indent].trim().is_empty())
                    .unwrap_or(raw.trim_start());
                if line.starts_with("```") {
                    in_block = None;
                } else if let Some(cmd) = line.strip_prefix("$ ") {
                    out.push(Example {
                        file: file.to_string(),
                        line: i + 1,
                        command: cmd.to_string(),
                        expected: Vec::new(),
                        registry,
                    });
                } else if let Some(e) = out.last_mut() {
                    e.expected.push(line.to_string());
                }
            }
        }
    }
    out
}

/// `None` when `actual` matches `expected` (`…` lines match any run of lines), else where not.
fn mismatch(expected: &[String], actual: &[&str]) -> Option<String> {
    fn go(e: &[String], a: &[&str]) -> bool {
        match e.split_first() {
            None => a.is_empty(),
            Some((first, rest)) if first.trim() == "…" => {
                (0..=a.len()).any(|k| go(rest, &a[k..]))
            }
            Some((first, rest)) => {
                matches!(a.split_first(), Some((x, ar)) if x.trim_end() == first.trim_end() && go(rest, ar))
            }
        }
    }
    if go(expected, actual) {
        return None;
    }
    // Name the first differing line for the message.
    let first = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e.trim() != "…" && e.trim_end() != a.trim_end())
        .unwrap_or(expected.len().min(actual.len()));
    Some(format!(
        "line {} of the quote: expected {:?}, got {:?}",
        first + 1,
        expected.get(first),
        actual.get(first)
    ))
}

fn run(example: &Example, registry: Option<&Registry>) -> String {
    let bin = env!("CARGO_BIN_EXE_bpdrift");
    let mut command = example.command.clone();
    if let Some(reg) = registry {
        command = command.replace("REGISTRY", &reg.addr);
    }
    let command = command.replacen("bpdrift", bin, 1);
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} 2>&1"))
        .current_dir(root())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    match &registry {
        Some(reg) => text.replace(&reg.addr, "REGISTRY"),
        None => text,
    }
}

fn doc_files() -> Vec<std::path::PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_quoted_command_prints_what_the_docs_say() {
    let mut all = Vec::new();
    for path in doc_files() {
        let name = path
            .strip_prefix(root())
            .unwrap_or(Path::new("?"))
            .display()
            .to_string();
        all.extend(examples(&name, &std::fs::read_to_string(&path).unwrap()));
    }
    assert!(all.len() >= 5, "the docs quote commands: {all:?}");
    let registry = all.iter().any(|e| e.registry).then(|| {
        let reg = Registry::start();
        for e in all.iter().filter(|e| e.registry) {
            for word in e.command.split_whitespace() {
                if let Some(repo_tag) = word.strip_prefix("REGISTRY/")
                    && let Some((_, tag)) = repo_tag.rsplit_once(':')
                {
                    reg.seed(&format!("oci:testdata/images:{tag}"), repo_tag);
                }
            }
        }
        reg
    });
    let mut failures = Vec::new();
    for e in &all {
        let got = run(e, registry.as_ref().filter(|_| e.registry));
        let lines: Vec<&str> = got.lines().collect();
        if let Some(why) = mismatch(&e.expected, &lines) {
            failures.push(format!(
                "{}:{}: `{}`: {why}\n--- actual output ---\n{got}",
                e.file, e.line, e.command
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The check can fail: an edited quote, a missing line and an extra line are each caught.
#[test]
fn an_edited_quote_fails_the_docs_check() {
    let doc = "```console\n$ bpdrift x\nfirst\n…\nlast\n```\n";
    let ex = examples("t.md", doc);
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].expected, ["first", "…", "last"]);
    assert!(mismatch(&ex[0].expected, &["first", "a", "b", "last"]).is_none());
    assert!(mismatch(&ex[0].expected, &["first", "last"]).is_none());
    assert!(mismatch(&ex[0].expected, &["First", "last"]).is_some());
    assert!(mismatch(&ex[0].expected, &["first", "a"]).is_some());
    let exact = vec!["one".to_string(), "two".to_string()];
    assert!(mismatch(&exact, &["one", "two", "three"]).is_some());
    assert!(mismatch(&exact, &["one"]).is_some());
    // And on the real docs: editing one character of a real quote is caught.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let real = examples("README.md", &readme);
    let e = real
        .iter()
        .find(|e| e.expected.iter().any(|l| l.len() > 3 && l != "…"))
        .unwrap();
    let got = run(e, None);
    let lines: Vec<&str> = got.lines().collect();
    assert!(mismatch(&e.expected, &lines).is_none(), "{got}");
    let mut edited = e.expected.clone();
    let i = edited.iter().position(|l| l.len() > 3 && l != "…").unwrap();
    edited[i].push('!');
    assert!(mismatch(&edited, &lines).is_some());
}
