//! The shape ARCHITECTURE.md promises, checked on the source: the pure core imports nothing
//! that does I/O, and modules import each other without a cycle, at the top level and between
//! the submodules of every module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Modules that read no file, open no socket and start no process.
const PURE: &[&str] = &[
    "attribution",
    "clock",
    "diff",
    "digest",
    "fleet::assess",
    "fleet::file",
    "image",
    "memory::calc",
    "memory::go",
    "memory::predict",
    "memory::size",
    "metadata",
    "packages",
    "reference",
    "release_notes",
    "render",
    "report",
    "rules",
    "sanitize",
    "text",
    "toml_file",
    "version",
];

/// Modules (or items) that do I/O: what a pure module must not reach.
const IMPURE: &[&str] = &[
    "cli",
    "commands",
    "fleet::fetch",
    "fleet::history",
    "fleet::run",
    "fleet::RunInput",
    "github",
    "net",
    "pipeline",
    "source",
];

/// Paths of the standard library and crates that do I/O.
const IO_PATHS: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "tokio::",
    "reqwest::",
    "rusqlite::",
    "indicatif::",
    "File::open",
    "File::create",
];

/// Every module of `src/` by its path (`fleet::assess`), with its code outside `mod tests`.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let name = parts.join("::");
            if name == "lib" || name == "main" || name.ends_with("tests") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            out.insert(name, code);
        }
    }
    let root = crate::common::root().join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    // Modules compiled only for tests (`#[cfg(test)] mod samples;`) are not part of the shape.
    let test_only: Vec<String> = out
        .iter()
        .flat_map(|(name, code)| {
            let parent = name.clone();
            code.split("#[cfg(test)]")
                .skip(1)
                .filter_map(|rest| {
                    let rest = rest.trim_start().strip_prefix("mod ")?;
                    let child: String = rest.chars().take_while(|c| *c != ';').collect();
                    (!child.contains('{')).then(|| child.trim().to_string())
                })
                .map(move |child| {
                    if parent.is_empty() {
                        child
                    } else {
                        format!("{parent}::{child}")
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.retain(|name, _| !test_only.contains(name));
    out
}

/// The module paths `code` (of module `module`) refers to: `crate::a::b` and `super::a`, made
/// absolute; comments skipped.
fn references(module: &str, code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let parent: Vec<&str> = module.split("::").collect();
    for line in code.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (prefix, base) in [
            ("crate::", Vec::new()),
            ("super::", parent[..parent.len().saturating_sub(1)].to_vec()),
        ] {
            let mut rest = line;
            while let Some(i) = rest.find(prefix) {
                // `self::super::`/`foo_super::` are not this prefix.
                let before = rest[..i].chars().last();
                rest = &rest[i + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let path: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let mut full = base.join("::");
                if !full.is_empty() && !path.is_empty() {
                    full.push_str("::");
                }
                full.push_str(path.trim_end_matches(':'));
                // `use super::{a, b}` names several: count the brace group's items.
                if rest[path.len()..].starts_with('{') {
                    let group: String = rest[path.len() + 1..]
                        .chars()
                        .take_while(|c| *c != '}')
                        .collect();
                    for item in group.split(',') {
                        let item = item.trim().split(' ').next().unwrap_or_default();
                        if !item.is_empty() && item != "self" {
                            out.insert(format!("{}::{item}", full.trim_end_matches("::")));
                        }
                    }
                }
                out.insert(full);
            }
        }
    }
    out
}

fn reaches(reference: &str, target: &str) -> bool {
    reference == target || reference.starts_with(&format!("{target}::"))
}

#[test]
fn the_pure_core_imports_nothing_that_does_io() {
    let mods = modules();
    let mut problems = Vec::new();
    let mut checked = 0;
    for (name, code) in &mods {
        if !PURE.iter().any(|p| reaches(name, p)) {
            continue;
        }
        checked += 1;
        for r in references(name, code) {
            if let Some(bad) = IMPURE.iter().find(|i| reaches(&r, i)) {
                problems.push(format!("{name} imports {r} (`{bad}` does I/O)"));
            }
        }
        for path in IO_PATHS {
            if code
                .lines()
                .any(|l| !l.trim_start().starts_with("//") && l.contains(path))
            {
                problems.push(format!("{name} uses `{path}`"));
            }
        }
    }
    assert!(checked >= PURE.len(), "only {checked} pure modules found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The module a reference lands in: the longest module path it starts with (`render::table`
/// for `crate::render::table::table`, `render` for `super::fitted` in `render::packages`).
fn module_of<'a>(reference: &str, mods: &'a BTreeMap<String, String>) -> Option<&'a str> {
    mods.keys()
        .map(String::as_str)
        .filter(|m| reaches(reference, m))
        .max_by_key(|m| m.len())
}

/// Sibling modules import each other without a cycle, at every level: for each parent (the
/// crate, `render`, `fleet`, …) the graph of its children, where a child stands for its whole
/// subtree. A child using its parent's items (`super::…`) and a parent re-exporting its
/// children are not edges between siblings.
fn sibling_cycles(mods: &BTreeMap<String, String>) -> Vec<String> {
    // Parent → child → children it depends on.
    let mut graphs: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let child_of = |parent: &str, m: &str| -> Option<String> {
        let rest = if parent.is_empty() {
            m
        } else {
            m.strip_prefix(&format!("{parent}::"))?
        };
        let first = rest.split("::").next().unwrap_or_default();
        (!first.is_empty()).then(|| {
            if parent.is_empty() {
                first.to_string()
            } else {
                format!("{parent}::{first}")
            }
        })
    };
    for (name, code) in mods {
        for r in references(name, code) {
            let Some(target) = module_of(&r, mods) else {
                continue;
            };
            // The lowest common ancestor of the two modules is the parent whose children they
            // (their subtrees) are.
            let a: Vec<&str> = name.split("::").collect();
            let b: Vec<&str> = target.split("::").collect();
            let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
            if common == a.len() || common == b.len() {
                continue; // one contains the other
            }
            let parent = a[..common].join("::");
            let (Some(from), Some(to)) = (child_of(&parent, name), child_of(&parent, target))
            else {
                continue;
            };
            graphs
                .entry(parent)
                .or_default()
                .entry(from)
                .or_default()
                .insert(to);
        }
    }
    // Depth-first search; a node met again while on the stack closes a cycle.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if !done.insert(n.to_string()) {
            return None;
        }
        stack.push(n.to_string());
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut cycles = Vec::new();
    for edges in graphs.values() {
        let mut done = BTreeSet::new();
        for n in edges.keys() {
            if let Some(cycle) = visit(n, edges, &mut Vec::new(), &mut done) {
                cycles.push(cycle.join(" → "));
            }
        }
    }
    cycles
}

#[test]
fn modules_import_each_other_without_a_cycle_at_every_level() {
    let mods = modules();
    let cycles = sibling_cycles(&mods);
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
    // The check sees the top level and the submodules.
    assert!(mods.contains_key("render::table") && mods.contains_key("fleet::assess"));
}

#[test]
fn a_cycle_between_submodules_is_caught() {
    let mods: BTreeMap<String, String> = [
        ("render", "mod packages;\nmod table;\npub use table::x;"),
        ("render::packages", "fn f() { super::table::table(); }"),
        ("render::table", "use super::packages;\nuse super::fitted;"),
        ("report", "use crate::render::table::x;"),
        ("diff", "use crate::report::y;"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(
        sibling_cycles(&mods),
        ["render::packages → render::table → render::packages"]
    );
    let mut top = mods.clone();
    top.insert("render::table".into(), "use crate::diff::z;".into());
    assert_eq!(sibling_cycles(&top), ["diff → report → render → diff"]);
}

#[test]
fn the_checks_see_a_violation() {
    // The checker itself: a pure module importing the registry client is caught.
    let refs = references(
        "render::table",
        "use crate::source::Fetcher;\nuse super::{escape, json};",
    );
    assert!(refs.iter().any(|r| reaches(r, "source")), "{refs:?}");
    assert!(refs.contains("render::escape"), "{refs:?}");
}
