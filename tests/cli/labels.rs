//! Every complete label sample in testdata/labels parses without a problem.

use std::collections::BTreeMap;

use bpdrift::{ImageMetadata, label};
use serde_json::{Value, json};

fn config(labels: &BTreeMap<String, String>) -> Vec<u8> {
    serde_json::to_vec(&json!({"os":"linux","architecture":"amd64","config":{"Labels":labels}}))
        .unwrap()
}

#[test]
fn every_complete_sample_parses() {
    let dir = crate::common::root().join("testdata/labels");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Excerpts cut from issue threads (FRAGMENT/PARTIAL) count only when they are whole JSON.
        let value: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(_) if name.contains("FRAGMENT") || name.contains("PARTIAL") => continue,
            Err(e) => panic!("{name} is not JSON: {e}"),
        };
        let one = |l: &str, doc: String| BTreeMap::from([(l.to_string(), doc)]);
        // A whole label map, a whole image config, or one decoded label named by the file name.
        let labels: BTreeMap<String, String> = if name.contains("config-labels") {
            serde_json::from_value(value).unwrap()
        } else if name.contains("image-config") {
            let md = ImageMetadata::from_config(text.as_bytes()).unwrap();
            assert!(md.problems.is_empty(), "{name}: {:?}", md.problems);
            checked += 1;
            continue;
        } else if name.contains("build-metadata.buildpacks") {
            one(label::BUILD, json!({ "buildpacks": value }).to_string())
        } else if name.contains("lifecycle-metadata.runImage") {
            one(label::LIFECYCLE, json!({ "runImage": value }).to_string())
        } else if let Some(l) = [
            label::BUILD,
            label::LIFECYCLE,
            label::BUILDER,
            "io.buildpacks.buildpack.layers",
            "io.buildpacks.buildpack.order",
        ]
        .iter()
        .find(|l| name.contains(*l))
        {
            one(l, text.clone())
        } else if name.contains("build-metadata") {
            one(label::BUILD, text.clone())
        } else if name.contains("lifecycle-metadata") {
            one(label::LIFECYCLE, text.clone())
        } else {
            continue;
        };
        let md = ImageMetadata::from_config(&config(&labels)).unwrap();
        assert!(md.problems.is_empty(), "{name}: {:?}", md.problems);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} samples checked");
}
