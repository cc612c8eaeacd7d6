//! Kinds and attribution on real label sets from `testdata/labels` (each with its `.source`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::metadata::{ImageMetadata, label};

fn config(labels: &BTreeMap<String, String>) -> Vec<u8> {
    serde_json::to_vec(&json!({"os":"linux","architecture":"amd64","config":{"Labels":labels}}))
        .unwrap()
}
/// The kind of every real label set of a whole image: builder, buildpackage, app, run image,
/// lifecycle image, plain.
#[test]
fn kinds_of_real_label_sets() {
    use crate::metadata::ImageKind;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/labels");
    let of = |file: &str| -> BTreeMap<String, String> {
        serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap()
    };
    let kind = |labels: &BTreeMap<String, String>| {
        ImageMetadata::from_config(&config(labels)).unwrap().kind()
    };
    let builder = of("builder-paketo-bionic-2020.config-labels.json");
    assert_eq!(kind(&builder), ImageKind::Builder);
    // Its metadata lists 33 entries, several buildpacks once per composite that holds them;
    // `pack builder inspect` shows each id@version once: 25.
    let md = ImageMetadata::from_config(&config(&builder)).unwrap();
    let mut ids: Vec<String> = md
        .buildpacks
        .iter()
        .map(|b| format!("{}@{}", b.id, b.version))
        .collect();
    assert_eq!(ids.len(), 25);
    ids.dedup();
    assert_eq!(ids.len(), 25);
    assert_eq!(
        md.order.len(),
        5,
        "order groups read from io.buildpacks.buildpack.order"
    );
    let package = of("buildpackage-hello-universe.config-labels.json");
    assert_eq!(kind(&package), ImageKind::Buildpackage);
    let md = ImageMetadata::from_config(&config(&package)).unwrap();
    // Its buildpacks come from io.buildpacks.buildpack.layers, each id@version once.
    let ids: Vec<String> = md
        .buildpacks
        .iter()
        .map(|b| format!("{}@{}", b.id, b.version))
        .collect();
    assert_eq!(
        ids,
        [
            "example/hello-moon@0.0.3",
            "example/hello-universe@0.0.1",
            "example/hello-world@0.0.2"
        ]
    );
    let app = of("paketo-java-petclinic-tiny-platform-0.8-lifecycle-0.13.1.config-labels.json");
    assert_eq!(kind(&app), ImageKind::App);
    // A run image: the stack labels of the jammy run image, no lifecycle metadata.
    let run = of("synthesized/run-jammy-base.config-labels.json");
    assert_eq!(kind(&run), ImageKind::RunImage);
    // A lifecycle image (buildpacksio/lifecycle): version and APIs, a legacy builder subset.
    let lifecycle: BTreeMap<String, String> = [
        (label::LIFECYCLE_VERSION, "0.20.7"),
        (
            label::LIFECYCLE_APIS,
            r#"{"buildpack":{"deprecated":[],"supported":["0.7","0.11"]},"platform":{"deprecated":[],"supported":["0.7","0.13"]}}"#,
        ),
        (label::BUILDER, r#"{"lifecycle":{"version":"0.20.7"}}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let md = ImageMetadata::from_config(&config(&lifecycle)).unwrap();
    assert_eq!(md.kind(), ImageKind::Lifecycle);
    assert_eq!(md.lifecycle_version.as_deref(), Some("0.20.7"));
    assert_eq!(md.platform_api.as_deref(), Some("0.7, 0.13"));
    assert_eq!(
        kind(&of("synthesized/plain-a.config-labels.json")),
        ImageKind::Plain
    );
}

/// A lifecycle image's version bump is one item, not two (the label is the lifecycle item).
#[test]
fn lifecycle_image_version_counted_once() {
    let image = |v: &str| {
        let labels: BTreeMap<String, String> = [
            (label::LIFECYCLE_VERSION.to_string(), v.to_string()),
            (
                label::LIFECYCLE_APIS.to_string(),
                r#"{"platform":{"supported":["0.13"]}}"#.to_string(),
            ),
        ]
        .into();
        crate::image::Image {
            origin: crate::image::Origin {
                reference: format!("lifecycle:{v}"),
                transport: crate::image::Transport::Oci,
                digest: Some(format!("sha256:{v}")),
                index_digest: None,
                config_digest: format!("sha256:c{v}"),
                platform: "linux/amd64".into(),
            },
            layers: Vec::new(),
            metadata: ImageMetadata::from_config(&config(&labels)).unwrap(),
        }
    };
    let d = crate::diff::diff(&image("0.20.6"), &image("0.20.7"));
    let moved: Vec<&str> = d.changed().map(|c| c.code.as_str()).collect();
    assert_eq!(moved, ["lifecycle-changed"]);
}

/// A real 2021 Paketo app's lifecycle metadata names every layer an image built with it has:
/// with its diffIDs as the rootfs, nothing is unattributed and the run image ends at its top layer.
#[test]
fn real_lifecycle_metadata_attributes_every_layer() {
    use crate::attribution::{Part, attribute};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/labels");
    let labels: BTreeMap<String, String> = serde_json::from_str(
        &std::fs::read_to_string(
            dir.join("paketo-java-petclinic-tiny-platform-0.8-lifecycle-0.13.1.config-labels.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let lc: Value = serde_json::from_str(&labels[label::LIFECYCLE]).unwrap();
    let sha = |v: &Value| v["sha"].as_str().unwrap().to_string();
    let mut ids = vec![
        "sha256:0000000000000000000000000000000000000000000000000000000000000001".to_string(),
        lc["runImage"]["topLayer"].as_str().unwrap().to_string(),
    ];
    for bp in lc["buildpacks"].as_array().unwrap() {
        for layer in bp["layers"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            if layer["launch"] == true {
                ids.push(sha(layer));
            }
        }
    }
    if lc.get("sbom").is_some() {
        ids.push(sha(&lc["sbom"]));
    }
    ids.extend(lc["app"].as_array().unwrap().iter().map(sha));
    for k in ["launcher", "config", "process-types"] {
        ids.push(sha(&lc[k]));
    }
    let cfg = json!({"os":"linux","architecture":"amd64","rootfs":{"diff_ids":ids},"config":{"Labels":labels}});
    let md = ImageMetadata::from_config(&serde_json::to_vec(&cfg).unwrap()).unwrap();
    let a = attribute(&md, &[]);
    assert_eq!(a.layers.len(), ids.len());
    let un: Vec<_> = a
        .layers
        .iter()
        .filter(|l| matches!(l.part, Part::Unattributed { .. }))
        .collect();
    assert!(un.is_empty(), "{un:#?}");
    assert_eq!(a.layers[1].part, Part::RunImage);
    assert!(a.missing.is_empty(), "{:?}", a.missing);
}
