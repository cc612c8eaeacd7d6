//! Unit tests of `memory::image`.

use super::*;

fn jar(names: &[&str], nested: Option<(&str, Vec<u8>)>) -> Vec<u8> {
    let mut buf = io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        for n in names {
            w.start_file(*n, opts).unwrap();
        }
        if let Some((name, bytes)) = nested {
            w.start_file(name, opts).unwrap();
            io::Write::write_all(&mut w, &bytes).unwrap();
        }
        w.finish().unwrap();
    }
    buf.into_inner()
}

/// A tar of `files` and symlinks; paths tar refuses (absolute, `..`) are left out, which the
/// property tests rely on. Shared by the crate's unit tests.
pub(crate) fn tar(files: &[(&str, &[u8])], links: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        let _ = b.append_data(&mut h, p, *data);
    }
    for (p, target) in links {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        b.append_link(&mut h, p, target).unwrap();
    }
    b.into_inner().unwrap_or_default()
}

#[test]
fn counts_like_libjvm() {
    let inner = jar(
        &["x/A.class", "x/B.class"],
        Some(("deeper.jar", jar(&["z/Z.class"], None))),
    );
    let fat = jar(&["F.class", "r.txt"], Some(("lib/inner.jar", inner)));
    let scb = jar(&["S1.class", "S2.class", "S3.class"], None);
    let mut s = Scanner::default();
    s.scan_layer(&tar(
        &[
            ("layers/paketo-buildpacks_bellsoft-liberica/jre/env.launch/BPI_JVM_CLASS_COUNT.default", b"24000"),
            ("layers/paketo-buildpacks_bellsoft-liberica/jre/env.launch/BPI_APPLICATION_PATH.default", b"/workspace"),
            ("layers/paketo-buildpacks_bellsoft-liberica/jre/env.launch/JAVA_TOOL_OPTIONS.append", b"-XX:+ExitOnOutOfMemoryError"),
            ("layers/paketo-buildpacks_bellsoft-liberica/jre/env.launch/JAVA_TOOL_OPTIONS.delim", b" "),
            ("layers/paketo-buildpacks_spring-boot/web-application-type/env.launch/BPL_JVM_THREAD_COUNT.default", b"50"),
            ("layers/paketo-buildpacks_spring-boot/spring-cloud-bindings/scb.jar", &scb),
        ],
        &[],
    )[..])
    .unwrap();
    s.scan_layer(
        &tar(
            &[
                ("workspace/BOOT-INF/classes/A.class", b""),
                ("workspace/BOOT-INF/classes/b.groovy", b""),
                ("workspace/BOOT-INF/lib/fat.jar", &fat),
                ("workspace/BOOT-INF/lib/none.jar", b""),
                ("workspace/BOOT-INF/lib/text.jar", b"not a zip"),
                ("workspace/gone.class", b""),
                ("elsewhere/Other.class", b""),
            ],
            &[(
                "workspace/BOOT-INF/lib/scb.jar",
                "/layers/paketo-buildpacks_spring-boot/spring-cloud-bindings/scb.jar",
            )],
        )[..],
    )
    .unwrap();
    s.scan_layer(&tar(&[("workspace/.wh.gone.class", b"")], &[])[..])
        .unwrap();
    let config: BTreeMap<String, String> =
        [("JAVA_TOOL_OPTIONS".to_string(), "-Xss512k".to_string())].into();
    let order = vec![
        "paketo-buildpacks/bellsoft-liberica".to_string(),
        "paketo-buildpacks/spring-boot".to_string(),
    ];
    let got = s.finish(&config, &Default::default(), &order);
    // 2 class files + fat (1 + 2 nested, not deeper) + scb through the link (3).
    assert_eq!(got.app_classes, 2 + 3 + 3);
    let env = got.env_map();
    assert_eq!(env["BPI_JVM_CLASS_COUNT"], "24000");
    assert_eq!(env["BPL_JVM_THREAD_COUNT"], "50");
    assert_eq!(
        env["JAVA_TOOL_OPTIONS"],
        "-Xss512k -XX:+ExitOnOutOfMemoryError"
    );
    let (n, missing) = s.agents(&[
        "/layers/paketo-buildpacks_spring-boot/spring-cloud-bindings/scb.jar".into(),
        "/nope.jar".into(),
    ]);
    assert_eq!((n, missing), (3, vec!["/nope.jar".to_string()]));
}

#[test]
fn config_env_beats_defaults() {
    let mut s = Scanner::default();
    s.scan_layer(
        &tar(
            &[(
                "layers/a_b/l/env.launch/BPL_JVM_THREAD_COUNT.default",
                b"250",
            )],
            &[],
        )[..],
    )
    .unwrap();
    let config: BTreeMap<String, String> =
        [("BPL_JVM_THREAD_COUNT".to_string(), "100".to_string())].into();
    let got = s.finish(&config, &Default::default(), &["a/b".to_string()]);
    let src = got
        .env
        .iter()
        .find(|e| e.name == "BPL_JVM_THREAD_COUNT")
        .unwrap();
    assert_eq!(
        (src.value.as_str(), src.from.as_str()),
        ("100", "image config Env")
    );
}

/// `--env` is the platform's environment: the launcher applies the layers' env files over it
/// (lifecycle `env.AddEnvDir`), so `.append` extends a platform value instead of being lost,
/// `.override` wins over it and `.default` does not.
#[test]
fn platform_env_is_applied_before_env_files_like_the_launcher() {
    let mut s = Scanner::default();
    let d = "layers/a_b/l/env.launch";
    s.scan_layer(
        &tar(
            &[
                (
                    &format!("{d}/JAVA_TOOL_OPTIONS.append"),
                    b"-XX:+ExitOnOutOfMemoryError",
                ),
                (&format!("{d}/JAVA_TOOL_OPTIONS.delim"), b" "),
                (
                    &format!("{d}/LD_LIBRARY_PATH.prepend"),
                    b"/layers/a_b/l/lib",
                ),
                (&format!("{d}/LD_LIBRARY_PATH.delim"), b":"),
                (&format!("{d}/BPL_JVM_THREAD_COUNT.default"), b"250"),
                (&format!("{d}/BPI_APPLICATION_PATH.override"), b"/workspace"),
                (&format!("{d}/BPL_JVM_HEAD_ROOM.default"), b"5"),
            ],
            &[],
        )[..],
    )
    .unwrap();
    let config: BTreeMap<String, String> =
        [("BPL_JVM_HEAD_ROOM".to_string(), String::new())].into();
    let platform: BTreeMap<String, String> = [
        ("JAVA_TOOL_OPTIONS", "-Dmine=1"),
        ("LD_LIBRARY_PATH", "/opt/lib"),
        ("BPL_JVM_THREAD_COUNT", "100"),
        ("BPI_APPLICATION_PATH", "/mine"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let got = s.finish(&config, &platform, &["a/b".to_string()]);
    let env = got.env_map();
    assert_eq!(
        env["JAVA_TOOL_OPTIONS"],
        "-Dmine=1 -XX:+ExitOnOutOfMemoryError"
    );
    assert_eq!(env["LD_LIBRARY_PATH"], "/layers/a_b/l/lib:/opt/lib");
    assert_eq!(
        env["BPL_JVM_THREAD_COUNT"], "100",
        "a default never replaces a set value"
    );
    assert_eq!(
        env["BPI_APPLICATION_PATH"], "/workspace",
        "an override replaces --env"
    );
    assert_eq!(
        env["BPL_JVM_HEAD_ROOM"], "5",
        "an empty value counts as unset"
    );
    let from = |k: &str| got.env.iter().find(|e| e.name == k).unwrap().from.clone();
    assert_eq!(
        from("JAVA_TOOL_OPTIONS"),
        "--env + /layers/a_b/l/env.launch/JAVA_TOOL_OPTIONS.append"
    );
}
