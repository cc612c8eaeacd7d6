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

/// The 2018 shapes (buildpacks/lifecycle before 9e317d09, 2018-10-22): `runimage {name,
/// topLayer}`, then `runImage {name, topLayer, sha}`.
#[test]
fn run_image_of_2018() {
    for lc in [
        r#"{"app":{"sha":"sha256:1"},"buildpacks":[],"runimage":{"name":"packs/run","topLayer":"sha256:2"}}"#,
        r#"{"app":{"sha":"sha256:1"},"buildpacks":[],"runImage":{"name":"packs/run","topLayer":"sha256:2","sha":"sha256:3"}}"#,
    ] {
        let md =
            ImageMetadata::from_config(&config_with_labels(&[(label::LIFECYCLE, lc)])).unwrap();
        assert!(md.problems.is_empty(), "{:?}", md.problems);
        let run = md.run_image.expect("run image read");
        assert_eq!(run.image.as_deref(), Some("packs/run"));
        assert_eq!(run.top_layer.as_deref(), Some("sha256:2"));
    }
}

/// Every family's runtime, read where its buildpack writes it (literal shapes from each
/// buildpack's source; docs/runtimes.md names them).
#[test]
fn runtimes_of_every_family_from_layer_metadata() {
    let cases = [
        // libpak (bellsoft-liberica ≥ 3.1): `dependency` on the launch `jre` layer.
        (
            r#"{"key":"paketo-buildpacks/bellsoft-liberica","version":"11.8.0","layers":{"jre":{"launch":true,"data":{"dependency":{"id":"jre","name":"BellSoft Liberica JRE","version":"21.0.11"}}}}}"#,
            "java",
            "21.0.11",
        ),
        // jvm-vendors (libpak v2): `jre-<vendor>` layers.
        (
            r#"{"key":"paketo-buildpacks/jvm-vendors","version":"1.0.0","layers":{"jre-adoptium":{"launch":true,"data":{"dependency":{"id":"jre-adoptium","version":"21.0.5"}}}}}"#,
            "java",
            "21.0.5",
        ),
        // heroku/jvm: only the download URL.
        (
            r#"{"key":"heroku/jvm","version":"7.0.14","layers":{"openjdk":{"launch":true,"data":{"jdk_overlay_applied":false,"source_tarball_url":"https://heroku-buildpacks-jvm.s3.dualstack.us-east-1.amazonaws.com/openjdk/zulu/amd64/21.0.2.tar.gz"}}}}"#,
            "java",
            "21.0.2",
        ),
        (
            r#"{"key":"google.java.runtime","version":"0.9.2","layers":{"java":{"launch":true,"data":{"stack":"google.22","version":"11.0.22_10"}}}}"#,
            "java",
            "11.0.22+10",
        ),
        (
            r#"{"key":"heroku/nodejs","version":"5.2.0","layers":{"dist":{"launch":true,"data":{"artifact":{"version":"22.11.0","os":"linux","arch":"amd64"}}}}}"#,
            "node",
            "22.11.0",
        ),
        (
            r#"{"key":"heroku/nodejs-engine","version":"1.0.0","layers":{"dist":{"launch":true,"data":{"nodejs_version":"18.12.1","stack_id":"heroku-22"}}}}"#,
            "node",
            "18.12.1",
        ),
        (
            r#"{"key":"google.nodejs.runtime","version":"1.0.0","layers":{"node":{"launch":true,"data":{"stack":"google.22","version":"20.11.1"}}}}"#,
            "node",
            "20.11.1",
        ),
        (
            r#"{"key":"heroku/python","version":"6.5.6","layers":{"python":{"launch":true,"build":true,"data":{"arch":"amd64","distro_name":"ubuntu","distro_version":"24.04","python_version":"3.13.1"}}}}"#,
            "python",
            "3.13.1",
        ),
        (
            r#"{"key":"google.python.runtime","version":"0.9.1","layers":{"python":{"launch":true,"data":{"stack":"google.24","version":"3.14.0"}}}}"#,
            "python",
            "3.14.0",
        ),
        (
            r#"{"key":"heroku/ruby","version":"12.4.1","layers":{"binruby":{"launch":true,"data":{"cpu_architecture":"amd64","ruby_version":"3.3.6","os_distribution":{"name":"ubuntu","version":"22.04"}}}}}"#,
            "ruby",
            "3.3.6",
        ),
        (
            r#"{"key":"heroku/ruby","version":"2.0.0","layers":{"ruby":{"launch":true,"data":{"stack":"heroku-22","version":"3.1.3"}}}}"#,
            "ruby",
            "3.1.3",
        ),
        (
            r#"{"key":"google.php.runtime","version":"0.9.1","layers":{"php":{"launch":true,"data":{"stack":"google.22","version":"8.3.6"}}}}"#,
            "php",
            "8.3.6",
        ),
        (
            r#"{"key":"google.dotnet.runtime","version":"0.9.1","layers":{"runtime":{"launch":true,"cache":true,"data":{"stack":"google.22","version":"8.0.11"}}}}"#,
            "dotnet",
            "8.0.11",
        ),
    ];
    for (bp, name, version) in cases {
        let lc = format!(r#"{{"buildpacks":[{bp}]}}"#);
        let md =
            ImageMetadata::from_config(&config_with_labels(&[(label::LIFECYCLE, &lc)])).unwrap();
        let r = md
            .runtime(name)
            .unwrap_or_else(|| panic!("no {name} in {bp}: {:?}", md.runtimes));
        assert_eq!(r.version, version, "{bp}");
    }
    // A checksum alone (packit) is no version: the SBOM has it.
    let lc = r#"{"buildpacks":[{"key":"paketo-buildpacks/node-engine","version":"8.1.0","layers":{"node":{"launch":true,"data":{"dependency-sha":"sha256:abc"}}}}]}"#;
    let md = ImageMetadata::from_config(&config_with_labels(&[(label::LIFECYCLE, lc)])).unwrap();
    assert!(md.runtime("node").is_none());
}

/// The distro: base labels, the deprecated stack labels (Google writes `Ubuntu`), the stack id.
#[test]
fn distro_from_labels_or_stack_id() {
    for (labels, version) in [
        (
            vec![
                ("io.buildpacks.base.distro.name", "ubuntu"),
                ("io.buildpacks.base.distro.version", "24.04"),
                ("io.buildpacks.stack.id", "heroku-24"),
            ],
            "24.04",
        ),
        (
            vec![
                ("io.buildpacks.stack.distro.name", "Ubuntu"),
                ("io.buildpacks.stack.distro.version", "22.04"),
            ],
            "22.04",
        ),
        (
            vec![("io.buildpacks.stack.id", "io.buildpacks.stacks.noble")],
            "24.04",
        ),
    ] {
        let md = ImageMetadata::from_config(&config_with_labels(&labels)).unwrap();
        let d = md.runtime("ubuntu").expect("distro");
        assert_eq!(d.version, version);
        assert_eq!(d.describe(), format!("distro ubuntu {version}"));
    }
}
