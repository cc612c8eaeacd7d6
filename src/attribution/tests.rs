//! Unit tests of `attribution`.

use super::*;
use crate::metadata::label;

fn layer(size: u64) -> Layer {
    Layer {
        digest: format!("sha256:blob{size}"),
        size,
        media_type: String::new(),
    }
}

/// An app image from its lifecycle label and diffIDs (sizes 10, 20, 30, …).
fn app(lifecycle: &str, ids: &[&str]) -> (ImageMetadata, Vec<Layer>) {
    let cfg = serde_json::json!({
        "rootfs": {"diff_ids": ids},
        "config": {"Labels": {label::LIFECYCLE: lifecycle}},
    });
    let md = ImageMetadata::from_config(cfg.to_string().as_bytes()).unwrap();
    let layers = (1..=ids.len() as u64).map(|i| layer(i * 10)).collect();
    (md, layers)
}

const LC: &str = r#"{"app":[{"sha":"sha256:a1"},{"sha":"sha256:a2"}],
    "buildpacks":[{"key":"p/jre","version":"1.0.0","layers":{"jre":{"sha":"sha256:j","launch":true,"cache":true}}}],
    "launcher":{"sha":"sha256:l"},"config":{"sha":"sha256:c"},"process-types":{"sha":"sha256:p"},"sbom":{"sha":"sha256:s"},
    "runImage":{"topLayer":"sha256:r2","reference":"run@sha256:1","image":"run:latest"}}"#;
const IDS: &[&str] = &[
    "sha256:r1",
    "sha256:r2",
    "sha256:j",
    "sha256:s",
    "sha256:a1",
    "sha256:a2",
    "sha256:l",
    "sha256:c",
    "sha256:p",
];

#[test]
fn every_layer_gets_one_part() {
    let (md, layers) = app(LC, IDS);
    let a = attribute(&md, &layers);
    assert_eq!(a.layers.len(), IDS.len());
    let keys: Vec<String> = a.layers.iter().map(|l| l.part.key()).collect();
    assert_eq!(
        keys,
        [
            "run image",
            "run image",
            "p/jre jre",
            "sbom",
            "app",
            "app",
            "launcher",
            "config",
            "process types"
        ]
    );
    assert_eq!(a.parts[0].bytes, 30);
    assert!(matches!(
        a.layers[2].part,
        Part::Buildpack {
            launch: true,
            cache: true,
            ..
        }
    ));
}

#[test]
fn app_as_object_and_no_top_layer() {
    let lc =
        r#"{"app":{"sha":"sha256:a1"},"buildpacks":[{"key":"p/x","version":"","layers":null}]}"#;
    let (md, layers) = app(lc, &["sha256:r1", "sha256:a1", "sha256:zz"]);
    let a = attribute(&md, &layers);
    assert!(
        matches!(&a.layers[0].part, Part::Unattributed { reason } if reason.contains("older than the field"))
    );
    assert_eq!(a.layers[1].part, Part::App);
    assert!(
        matches!(&a.layers[2].part, Part::Unattributed { reason } if reason.contains("matches"))
    );
}

#[test]
fn an_empty_app_slice_with_the_top_layers_diff_id_is_not_base() {
    let lc = r#"{"app":[{"sha":"sha256:e"}],"buildpacks":[{"key":"p/j","version":"1","layers":{"jre":{"sha":"sha256:j","launch":true}}}],
        "runImage":{"topLayer":"sha256:e"}}"#;
    let (md, layers) = app(lc, &["sha256:r1", "sha256:e", "sha256:j", "sha256:e"]);
    let keys: Vec<String> = attribute(&md, &layers)
        .layers
        .iter()
        .map(|l| l.part.key())
        .collect();
    assert_eq!(keys, ["run image", "run image", "p/j jre", "app"]);
}

#[test]
fn same_diff_id_twice_takes_both_names() {
    let lc = r#"{"app":[{"sha":"sha256:e"}],"config":{"sha":"sha256:e"},"runImage":{"topLayer":"sha256:r"}}"#;
    let (md, layers) = app(lc, &["sha256:r", "sha256:e", "sha256:e"]);
    let a = attribute(&md, &layers);
    assert_eq!(a.layers[1].part, Part::App);
    assert_eq!(a.layers[2].part, Part::Config);
}

#[test]
fn rebuilt_at_the_same_version_and_app_change() {
    let (mb, lb) = app(LC, IDS);
    let lc2 = LC
        .replace("sha256:j\"", "sha256:j2\"")
        .replace("sha256:a2", "sha256:a3");
    let ids2: Vec<&str> = IDS
        .iter()
        .map(|i| match *i {
            "sha256:j" => "sha256:j2",
            "sha256:a2" => "sha256:a3",
            x => x,
        })
        .collect();
    let (ma, la) = app(&lc2, &ids2);
    let d = diff_parts(&attribute(&mb, &lb), &attribute(&ma, &la), None, None);
    let jre = d.get("p/jre jre").unwrap();
    assert_eq!(jre.status, Status::Changed);
    assert!(jre.rebuilt_same_version);
    let app = d.get("app").unwrap();
    assert_eq!(
        (app.layers_changed, app.layers_after, app.bytes_changed),
        (1, 2, 60)
    );
    assert_eq!(d.get("run image").unwrap().status, Status::Unchanged);
}

#[test]
fn builder_buildpack_rebuilt_at_the_same_version() {
    let builder = |diff_id: &str| {
        let layers = format!(r#"{{"p/a":{{"1.0.0":{{"api":"0.7","layerDiffID":"{diff_id}"}}}}}}"#);
        let cfg = serde_json::json!({"rootfs":{"diff_ids":["sha256:base", diff_id]},
            "config":{"Labels":{label::BUILDER: r#"{"buildpacks":[{"id":"p/a","version":"1.0.0"},{"id":"p/a","version":"1.0.0"}]}"#,
                                label::BUILDPACK_LAYERS: layers}}});
        let md = ImageMetadata::from_config(cfg.to_string().as_bytes()).unwrap();
        (md, vec![layer(10), layer(20)])
    };
    let (mb, lb) = builder("sha256:x");
    let (ma, la) = builder("sha256:y");
    // The inventory lists each id@version once.
    assert_eq!(mb.buildpacks.len(), 1);
    let (ab, aa) = (attribute(&mb, &lb), attribute(&ma, &la));
    assert!(matches!(&ab.layers[0].part, Part::Unattributed { .. }));
    let d = diff_parts(&ab, &aa, None, None);
    let p = d.get("p/a@1.0.0").unwrap();
    assert!(p.rebuilt_same_version, "{p:?}");
}

#[test]
fn rebase_and_replacement() {
    let run = |image: &str, top: &str| RunImage {
        image: Some(image.into()),
        top_layer: Some(top.into()),
        ..Default::default()
    };
    let empty = Attribution::default();
    let d = diff_parts(
        &empty,
        &empty,
        Some(&run("reg:5000/run:1", "a")),
        Some(&run("reg:5000/run:1", "b")),
    );
    assert_eq!(d.run_image.unwrap().how, RunImageMove::Rebased);
    let d = diff_parts(
        &empty,
        &empty,
        Some(&run("run:1", "a")),
        Some(&run("other:1", "b")),
    );
    assert_eq!(d.run_image.unwrap().how, RunImageMove::Replaced);
    assert_eq!(repository("index.docker.io/p/run@sha256:ab"), Some("p/run"));
    assert_eq!(repository("docker.io/library/ubuntu:22.04"), Some("ubuntu"));
    assert_eq!(same_image("p/run:base-cnb", "p/run:tiny-cnb"), Some(false));
    assert_eq!(same_image("p/run", "docker.io/p/run:latest"), Some(true));
    assert_eq!(same_image("p/run@sha256:1", "p/run:1"), Some(true));
    assert_eq!(same_image(&"a".repeat(64), "p/run:1"), None);
    // Rebased onto a mirror of the same run image.
    let mirrored = RunImage {
        mirrors: vec!["gcr.io/p/run:1".into()],
        ..run("p/run:1", "a")
    };
    let d = diff_parts(
        &empty,
        &empty,
        Some(&mirrored),
        Some(&run("gcr.io/p/run:1", "b")),
    );
    assert_eq!(d.run_image.unwrap().how, RunImageMove::Rebased);
    let d = diff_parts(
        &empty,
        &empty,
        Some(&run("index.docker.io/p/run:latest", "a")),
        Some(&run("p/run:latest", "b")),
    );
    assert_eq!(d.run_image.unwrap().how, RunImageMove::Rebased);
}
