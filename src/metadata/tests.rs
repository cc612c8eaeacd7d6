//! Unit tests of the label reader.

use super::*;

fn config_with_labels(labels: &[(&str, &str)]) -> Vec<u8> {
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Labels": labels, "Env": ["CNB_PLATFORM_API=0.8", "PATH=/bin"],
                   "Entrypoint": ["/cnb/process/web"]}
    }))
    .unwrap()
}

#[test]
fn null_lists_and_string_commands() {
    let build = r#"{"bom":null,"buildpacks":null,"processes":[{"type":"web","command":"java -jar app.jar","args":null,"direct":false}],"launcher":{"version":"0.11.3"}}"#;
    let md = ImageMetadata::from_config(&config_with_labels(&[(label::BUILD, build)])).unwrap();
    assert!(md.problems.is_empty(), "{:?}", md.problems);
    assert_eq!(md.processes[0].command, vec!["java -jar app.jar"]);
    assert!(md.processes[0].default, "default from the entrypoint");
    assert_eq!(md.lifecycle_version.as_deref(), Some("0.11.3"));
    assert_eq!(md.kind(), ImageKind::App);
}

#[test]
fn app_as_object_and_empty_versions() {
    let lc = r#"{"app":{"sha":"sha256:1"},"buildpacks":[{"key":"io.buildpacks.samples.nodejs","version":"","layers":null}],"runImage":{"topLayer":"sha256:2","reference":"abc"},"stack":{"runImage":{"image":"run:1","mirrors":null}}}"#;
    let md = ImageMetadata::from_config(&config_with_labels(&[(label::LIFECYCLE, lc)])).unwrap();
    assert!(md.problems.is_empty(), "{:?}", md.problems);
    assert_eq!(md.buildpacks[0].version, "");
    let run = md.run_image.unwrap();
    assert_eq!(run.image.as_deref(), Some("run:1"));
    assert_eq!(run.top_layer.as_deref(), Some("sha256:2"));
}

#[test]
fn jre_from_both_layer_shapes_and_bom() {
    let lc = r#"{"buildpacks":[
      {"key":"paketo-buildpacks/bellsoft-liberica","version":"9.0.1","layers":{
         "helper":{"data":{"version":"9.0.1"}},
         "jre":{"data":{"dependency":{"id":"jre","name":"BellSoft Liberica JRE","version":"11.0.13"}}}}},
      {"key":"old/liberica","version":"2.8.0","layers":{
         "jre":{"data":{"id":"jre","version":"11.0.7","uri":"https://x"}}}}]}"#;
    let build = r#"{"bom":[{"name":"jre","metadata":{"layer":"jre","version":"11.0.7"},"buildpack":{"id":"old/liberica","version":"2.8.0"}},
                           {"name":"jdk","version":"8.0.1","buildpack":{"id":"other/jdk"}}]}"#;
    let md = ImageMetadata::from_config(&config_with_labels(&[
        (label::LIFECYCLE, lc),
        (label::BUILD, build),
    ]))
    .unwrap();
    let versions: Vec<(String, String)> = md
        .dependencies
        .iter()
        .map(|d| (d.key(), d.version.clone()))
        .collect();
    assert_eq!(
        versions,
        vec![
            ("old/liberica jre".into(), "11.0.7".into()),
            ("other/jdk jdk".into(), "8.0.1".into()),
            (
                "paketo-buildpacks/bellsoft-liberica jre".into(),
                "11.0.13".into()
            ),
        ]
    );
}

#[test]
fn invalid_label_names_label_and_path() {
    let md = ImageMetadata::from_config(&config_with_labels(&[
        (label::BUILD, r#"{"buildpacks":[{"id":"a","version":"1"},]}"#),
        (
            label::LIFECYCLE,
            r#"{"runImage":{"topLayer":7,"reference":"abc"},"buildpacks":[{"key":"a","version":"1","layers":{"jre":{"data":{"dependency":{"version":3}}}}}]}"#,
        ),
    ]))
    .unwrap();
    assert_eq!(md.problems.len(), 2);
    assert_eq!(md.problems[0].label, label::BUILD);
    // A syntax error stops inside the array; the path says where.
    assert_eq!(md.problems[0].path, "buildpacks");
    assert_eq!((md.problems[0].line, md.problems[0].column), (1, 41));
    assert_eq!(md.problems[1].label, label::LIFECYCLE);
    assert_eq!(md.problems[1].path, "runImage.topLayer");
    assert!(md.problems[1].message.contains("invalid type"));
    // The rest of the lifecycle label is still read.
    assert_eq!(
        md.run_image.unwrap().reference.as_deref(),
        Some("abc"),
        "a bad field costs only that field"
    );
}

#[test]
fn rebasable_label() {
    let md =
        ImageMetadata::from_config(&config_with_labels(&[(label::REBASABLE, "false")])).unwrap();
    assert_eq!(md.rebasable, Some(false));
    // Every serialized view carries it without further code: the JSON report, the history.
    let json = serde_json::to_value(md.for_history()).unwrap();
    assert_eq!(json["rebasable"], false);
    let md = ImageMetadata::from_config(&config_with_labels(&[])).unwrap();
    assert_eq!(md.rebasable, None);
}

#[test]
fn null_labels_is_a_plain_image() {
    let cfg = br#"{"os":"linux","architecture":"arm64","variant":"v8","config":{"Labels":null,"Env":null,"Cmd":["bash"]}}"#;
    let md = ImageMetadata::from_config(cfg).unwrap();
    assert_eq!(md.kind(), ImageKind::Plain);
    assert_eq!(md.platform(), "linux/arm64/v8");
}
