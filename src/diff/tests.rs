//! Unit tests of `diff`.

use super::*;
use crate::metadata::{ImageMetadata, Module, label};

fn m(id: &str, v: &str) -> Module {
    Module {
        id: id.into(),
        version: v.into(),
        homepage: Some(format!("https://github.com/{id}")),
    }
}

/// Issue 14: build metadata, pre-release bumps, API lists as sets.
#[test]
fn version_classes_of_items() {
    let mut out = Vec::new();
    modules(
        &mut out,
        Category::Buildpack,
        &[m("p/a", "1.2.3"), m("p/b", "1.2.3")],
        &[m("p/a", "1.2.3+build.5"), m("p/b", "1.2.4-rc.1")],
    );
    assert_eq!(out[0].class, Some(VersionClass::BuildMetadata));
    assert_eq!(out[0].class_word(), "build-metadata");
    assert_eq!(out[1].class, Some(VersionClass::Patch));
    assert_eq!(out[1].class_word(), "patch (prerelease)");
    let api = |b: &str, a: &str| {
        Change::versioned(
            Category::PlatformApi,
            "platform API",
            Some(b.into()),
            Some(a.into()),
        )
    };
    let same = api("0.3, 0.4", "0.4, 0.3");
    assert_eq!((same.status, same.class), (Status::Unchanged, None));
    let gained = api("0.11, 0.12", "0.11, 0.12, 0.13");
    assert_eq!(gained.class, Some(VersionClass::Minor));
}

#[test]
fn module_changes_and_release_notes() {
    let mut out = Vec::new();
    modules(
        &mut out,
        Category::Buildpack,
        &[m("p/a", "1.0.0"), m("p/b", "2.0.0"), m("p/gone", "1.0.0")],
        &[m("p/a", "1.0.1"), m("p/b", "v2.0"), m("p/new", "0.1.0")],
    );
    let got: Vec<(&str, &str, Option<VersionClass>)> = out
        .iter()
        .map(|c| (c.subject.as_str(), c.code.as_str(), c.class))
        .collect();
    assert_eq!(
        got,
        vec![
            ("p/a", "buildpack-changed", Some(VersionClass::Patch)),
            ("p/b", "buildpack-unchanged", None),
            ("p/new", "buildpack-added", None),
            ("p/gone", "buildpack-removed", None),
        ]
    );
    assert_eq!(
        out[0].release_notes.as_deref(),
        Some("https://github.com/p/a/releases/tag/v1.0.1")
    );
    assert_eq!(out[1].release_notes, None);
}

#[test]
fn builder_multiset_versions() {
    let mut out = Vec::new();
    modules(
        &mut out,
        Category::Buildpack,
        &[m("p/a", "1.0.0"), m("p/a", "2.0.0")],
        &[m("p/a", "2.0.0"), m("p/a", "3.0.0")],
    );
    assert_eq!(out[0].before.as_deref(), Some("1.0.0, 2.0.0"));
    assert_eq!(out[0].class, Some(VersionClass::Major));
}

#[test]
fn secrets_in_env_are_redacted() {
    let mut b = ImageMetadata::default();
    let mut a = ImageMetadata::default();
    b.env.insert("DB_PASSWORD".into(), "hunter2".into());
    a.env.insert("DB_PASSWORD".into(), "hunter3".into());
    let mut out = Vec::new();
    env(&mut out, &b, &a);
    assert_eq!(out[0].status, Status::Changed);
    assert_eq!(out[0].after.as_deref(), Some("<redacted>"));
}

#[test]
fn reordered_builder_groups_are_one_item() {
    let mk = |groups: &[&[&str]]| ImageMetadata {
        order: groups
            .iter()
            .map(|g| g.iter().map(|s| s.to_string()).collect())
            .collect(),
        ..Default::default()
    };
    let (b, a) = (
        mk(&[&["java@1"], &["node@2"]]),
        mk(&[&["node@2"], &["java@1"]]),
    );
    let mut out = Vec::new();
    builder_order(&mut out, &b, &a);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].detail.as_deref(), Some("reordered"));
    assert_eq!(out[0].after.as_deref(), Some("node@2 | java@1"));
    let mut out = Vec::new();
    builder_order(&mut out, &b, &mk(&[&["java@1"], &["node@3"]]));
    assert_eq!(out[1].status, Status::Changed);
}

#[test]
fn order_change_names_what_moved() {
    let mk = |ids: &[&str]| {
        let mut md = ImageMetadata::default();
        md.labels.insert(label::BUILD.into(), "{}".into());
        md.buildpacks = ids.iter().map(|i| m(i, "1.0.0")).collect();
        md
    };
    let mut out = Vec::new();
    order(
        &mut out,
        &mk(&["a", "b", "c", "d"]),
        &mk(&["b", "c", "d", "a"]),
    );
    assert_eq!(out[0].status, Status::Changed);
    assert_eq!(out[0].detail.as_deref(), Some("moved: a"));
}
