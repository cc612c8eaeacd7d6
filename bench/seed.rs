//! Filling the registry through its API (plain HTTP uploads; not timed): images of the shipped
//! OCI layout with a unique config each, a fleet of distinct images, a big JVM image.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common;

fn sha256(b: &[u8]) -> String {
    bpdrift::sha256(b)
}

/// One plain HTTP/1.1 request to the registry (seeding only; not timed).
pub(crate) fn call(
    addr: &str,
    method: &str,
    path: &str,
    ctype: &str,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("registry");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

pub(crate) fn upload(addr: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    // distribution 2.8 has no single-request upload: open a session, then PUT the bytes to it.
    let (status, text) = call(
        addr,
        "POST",
        &format!("/v2/{repo}/blobs/uploads/"),
        "application/octet-stream",
        b"",
    );
    assert_eq!(status, 202, "upload session failed: {text}");
    let location = text
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .expect("Location header")
        .trim();
    let path = location
        .split_once(addr)
        .map(|(_, p)| p)
        .unwrap_or(location);
    let sep = if path.contains('?') { '&' } else { '?' };
    let (status, text) = call(
        addr,
        "PUT",
        &format!("{path}{sep}digest={digest}"),
        "application/octet-stream",
        bytes,
    );
    assert_eq!(status, 201, "blob upload failed: {text}");
    digest
}

/// A blob of the shipped OCI layout.
pub(crate) fn blob(digest: &str) -> Vec<u8> {
    let path = common::root()
        .join("testdata/images/blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    std::fs::read(path).unwrap()
}

/// The manifest of a tag of the shipped OCI layout.
pub(crate) fn layout_manifest(tag: &str) -> serde_json::Value {
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(common::root().join("testdata/images/index.json")).unwrap(),
    )
    .unwrap();
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap();
    serde_json::from_slice(&blob(entry["digest"].as_str().unwrap())).unwrap()
}

/// Uploads `repo:tag`: `manifest` with its own copy of `config` (labelled `bench.index = i`, so
/// every image has a config and manifest digest of its own).
pub(crate) fn put_variant(
    addr: &str,
    repo: &str,
    tag: &str,
    manifest: &serde_json::Value,
    config: &serde_json::Value,
    i: usize,
) {
    let mut c = config.clone();
    c["config"]["Labels"]["bench.index"] = serde_json::Value::String(i.to_string());
    let bytes = serde_json::to_vec(&c).unwrap();
    let digest = upload(addr, repo, &bytes);
    let mut m = manifest.clone();
    m["config"]["digest"] = digest.into();
    m["config"]["size"] = bytes.len().into();
    put_manifest(addr, repo, tag, &m);
}

/// `PUT /v2/<repo>/manifests/<tag>` of an OCI manifest; anything but 201 fails the bench.
pub(crate) fn put_manifest(addr: &str, repo: &str, tag: &str, manifest: &serde_json::Value) {
    let (status, text) = call(
        addr,
        "PUT",
        &format!("/v2/{repo}/manifests/{tag}"),
        "application/vnd.oci.image.manifest.v1+json",
        &serde_json::to_vec(manifest).unwrap(),
    );
    assert_eq!(status, 201, "manifest upload failed: {text}");
}

/// Seeds `n` images `repo:t<i>`: the incident image's layers once, a unique config per image.
pub(crate) fn seed(addr: &str, repo: &str, n: usize) {
    let manifest = layout_manifest("incident-good");
    for l in manifest["layers"].as_array().unwrap() {
        upload(addr, repo, &blob(l["digest"].as_str().unwrap()));
    }
    let config: serde_json::Value =
        serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    for i in 0..n {
        put_variant(addr, repo, &format!("t{i}"), &manifest, &config, i);
    }
}

/// Seeds `repo:big`: the jvm-threads-50 image with a JRE layer grown by `extra` MiB of
/// incompressible data, for the memory prediction's bounded-memory case.
pub(crate) fn seed_big_jvm(addr: &str, repo: &str, extra_mib: usize) -> u64 {
    use std::io::Write as _;
    let mut manifest = layout_manifest("jvm-threads-50");
    let mut config: serde_json::Value =
        serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let lifecycle: serde_json::Value = serde_json::from_str(
        config["config"]["Labels"]["io.buildpacks.lifecycle.metadata"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let jre_sha = lifecycle["buildpacks"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|b| b["layers"]["jre"]["sha"].as_str().map(str::to_string))
        .unwrap();
    let pos = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .position(|d| d == jre_sha.as_str())
        .unwrap();
    // Old JRE layer + a large file of pseudo-random (incompressible) bytes.
    let old = blob(manifest["layers"][pos]["digest"].as_str().unwrap());
    let mut tar_bytes = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&old[..]), &mut tar_bytes)
        .unwrap();
    // Drop the end-of-archive blocks (and any record padding) after the last member.
    let end = {
        let mut a = tar::Archive::new(&tar_bytes[..]);
        let mut end = 0u64;
        for e in a.entries().unwrap() {
            let e = e.unwrap();
            end = e.raw_file_position() + e.size().div_ceil(512) * 512;
        }
        end as usize
    };
    tar_bytes.truncate(end);
    let mut builder = tar::Builder::new(tar_bytes);
    let mut data = vec![0u8; extra_mib << 20];
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    builder
        .append_data(
            &mut h,
            "layers/paketo-buildpacks_bellsoft-liberica/jre/lib/modules",
            &data[..],
        )
        .unwrap();
    let tar_bytes = builder.into_inner().unwrap();
    let diff_id = sha256(&tar_bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar_bytes).unwrap();
    let layer = gz.finish().unwrap();
    let size = layer.len() as u64;
    let digest = upload(addr, repo, &layer);
    for (i, l) in manifest["layers"]
        .clone()
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        if i != pos {
            upload(addr, repo, &blob(l["digest"].as_str().unwrap()));
        }
    }
    manifest["layers"][pos]["digest"] = digest.into();
    manifest["layers"][pos]["size"] = size.into();
    config["rootfs"]["diff_ids"][pos] = diff_id.clone().into();
    let label = config["config"]["Labels"]["io.buildpacks.lifecycle.metadata"]
        .as_str()
        .unwrap()
        .replace(&jre_sha, &diff_id);
    config["config"]["Labels"]["io.buildpacks.lifecycle.metadata"] = label.into();
    let config_bytes = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = upload(addr, repo, &config_bytes).into();
    manifest["config"]["size"] = config_bytes.len().into();
    put_manifest(addr, repo, "big", &manifest);
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .sum()
}
