#!/usr/bin/env python3
"""Generate bpdrift's container-image test fixtures (Python 3.11, standard library only).

What it makes (every file below is owned by this script and rewritten from scratch):

  testdata/images/                 one OCI image layout (oci-layout, index.json, blobs/sha256/...)
                                   holding the tagged images listed in TAGS below; the tag is the
                                   `org.opencontainers.image.ref.name` annotation of the index.json
                                   entry, so `skopeo inspect oci:testdata/images:<tag>` works.
  testdata/archives/incident-good.oci.tar     oci-archive (tar of an OCI layout with only incident-good)
  testdata/archives/incident-bad.docker.tar   `docker save`-style archive of incident-bad
  testdata/archives/not-a-tar.tar             text garbage with a .tar name
  testdata/broken/no-index/                   an `oci-layout` file but no index.json
  testdata/broken/missing-blob/               index.json pointing at a manifest blob that does not exist
  testdata/labels/synthesized/                the label map of every synthesized image config
                                              (`<name>.config-labels.json` + `.source` saying how it was made)
  testdata/inventory.json                     digests, sizes and layer lists of everything above, and the
                                              layer-sharing numbers quoted in testdata/README.md

Inputs (checked in, never written by this script): the real, public label samples and buildpack.toml
extracts in testdata/labels/ (each with a `.source` file naming where it came from).

How to run (from the repository root):

  python3 testdata/generate.py            regenerate everything in place (stale owned files are removed first)
  python3 testdata/generate.py --check    regenerate into a temporary directory and compare with the
                                          checked-in tree; exit 1 listing every file that differs, is
                                          missing or is extra; exit 0 when identical

Determinism: no clocks, no randomness, no dependence on the zlib build. Tar entries are sorted, have
mtime 2023-06-01T00:00:00Z, uid/gid 0, empty user/group names, mode 0644 (files), 0755 (directories and
executables), 0777 (symlinks). Layers are gzip streams with mtime 0 whose deflate data is produced by
the small fixed-Huffman compressor in this file (so digests do not change with the zlib version), and
every JSON document is serialized with a fixed key order.

Model: an image is a list of layers, each a dict {absolute path: content}, plus an OCI config dict
(see `Image`). Content is a str (text file, 0644), bytes, `exe(...)` (0755 file), `Symlink(target)` or
`Dir()`. To add a real Paketo file layout (env.launch/*.default files, jars, ...) edit the layer-building
functions (`paketo_java_layers`, `jammy_run_layers`, ...); digests, diffIDs, sizes, label `sha` values,
the inventory and the archives all follow automatically.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import dataclasses
import hashlib
import io
import json
import shutil
import struct
import sys
import tarfile
import tempfile
import tomllib
import zipfile
import zlib
from pathlib import Path
from typing import Any, Union

HERE = Path(__file__).resolve().parent  # .../testdata
LABELS = HERE / "labels"  # checked-in inputs (real samples + .source files)

# Paths (relative to testdata/) that this script owns and rewrites.
OWNED = ("images", "archives", "broken", "labels/synthesized", "inventory.json")

EPOCH = 1685577600  # 2023-06-01T00:00:00Z, mtime of every tar entry
CNB_CREATED = "1980-01-01T00:00:01Z"  # what the lifecycle writes as "created" (reproducible builds)
PLAIN_CREATED = "2023-06-01T00:00:00Z"

MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
EMPTY_TAR_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


# --------------------------------------------------------------------------------------------------
# File contents of a layer
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class File:
    data: bytes
    mode: int = 0o644


@dataclasses.dataclass(frozen=True)
class Symlink:
    target: str


@dataclasses.dataclass(frozen=True)
class Dir:
    mode: int = 0o755


Content = Union[str, bytes, File, Symlink, Dir]
Layer = dict[str, Content]  # absolute path -> content


def exe(text: str) -> File:
    return File(text.encode(), 0o755)


# --------------------------------------------------------------------------------------------------
# Deterministic tar + gzip (own fixed-Huffman deflate, independent of the zlib build)
# --------------------------------------------------------------------------------------------------

_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
             115, 131, 163, 195, 227, 258]
_LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
              1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12,
               12, 13, 13]
_MAX_CHAIN = 32


class _BitWriter:
    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.nbits = 0

    def put(self, value: int, nbits: int) -> None:  # LSB first (header fields, extra bits)
        self.acc |= value << self.nbits
        self.nbits += nbits
        while self.nbits >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.nbits -= 8

    def put_code(self, code: int, nbits: int) -> None:  # Huffman codes are stored MSB first
        rev = 0
        for _ in range(nbits):
            rev = (rev << 1) | (code & 1)
            code >>= 1
        self.put(rev, nbits)

    def finish(self) -> bytes:
        if self.nbits:
            self.out.append(self.acc & 0xFF)
        return bytes(self.out)


def _put_litlen(bw: _BitWriter, sym: int) -> None:
    if sym < 144:
        bw.put_code(0x30 + sym, 8)
    elif sym < 256:
        bw.put_code(0x190 + sym - 144, 9)
    elif sym < 280:
        bw.put_code(sym - 256, 7)
    else:
        bw.put_code(0xC0 + sym - 280, 8)


def deflate_fixed(data: bytes) -> bytes:
    """Raw deflate (RFC 1951), one fixed-Huffman block, greedy LZ77 with a bounded hash chain."""
    bw = _BitWriter()
    bw.put(1, 1)  # BFINAL
    bw.put(1, 2)  # BTYPE = 01 (fixed Huffman)
    n = len(data)
    chains: dict[bytes, list[int]] = {}

    def remember(pos: int) -> None:
        if pos + 3 <= n:
            lst = chains.setdefault(data[pos:pos + 3], [])
            lst.append(pos)
            if len(lst) > 4 * _MAX_CHAIN:
                del lst[:-_MAX_CHAIN]

    i = 0
    while i < n:
        best_len = best_dist = 0
        if i + 3 <= n:
            limit = min(258, n - i)
            for p in reversed(chains.get(data[i:i + 3], [])[-_MAX_CHAIN:]):
                dist = i - p
                if dist > 32768:
                    break
                length = 3
                while length < limit and data[p + length] == data[i + length]:
                    length += 1
                if length > best_len:
                    best_len, best_dist = length, dist
                    if length == limit:
                        break
        if best_len >= 3:
            code = bisect.bisect_right(_LEN_BASE, best_len) - 1
            _put_litlen(bw, 257 + code)
            bw.put(best_len - _LEN_BASE[code], _LEN_EXTRA[code])
            dcode = bisect.bisect_right(_DIST_BASE, best_dist) - 1
            bw.put_code(dcode, 5)
            bw.put(best_dist - _DIST_BASE[dcode], _DIST_EXTRA[dcode])
            for k in range(i, i + best_len):
                remember(k)
            i += best_len
        else:
            _put_litlen(bw, data[i])
            remember(i)
            i += 1
    _put_litlen(bw, 256)  # end of block
    return bw.finish()


def gzip_bytes(data: bytes) -> bytes:
    raw = deflate_fixed(data)
    if zlib.decompress(raw, -15) != data:  # self-check of the compressor
        raise AssertionError("deflate round trip failed")
    header = b"\x1f\x8b\x08\x00" + b"\x00\x00\x00\x00" + b"\x00\xff"  # no flags, mtime 0, OS unknown
    return header + raw + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


def _tar_header(name: str, kind: bytes, size: int, mode: int, linkname: str = "") -> bytes:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = size
    ti.mode = mode
    ti.mtime = EPOCH
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    ti.linkname = linkname
    return ti.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict")  # raises if a name is too long


def tar_bytes(files: dict[str, Content], parent_dirs: bool = True) -> bytes:
    """A tar stream of `files` (paths absolute or relative; parents are added as directories unless
    `parent_dirs` is false).

    Entries are sorted by path components; the stream ends with the two zero blocks and no extra
    record padding (an empty dict gives 1024 zero bytes, diffID EMPTY_TAR_DIFF_ID)."""
    entries: dict[str, Content] = {}
    for path, content in files.items():
        rel = path.strip("/")
        parts = rel.split("/")
        for k in range(1, len(parts) if parent_dirs else 1):
            parent = "/".join(parts[:k])
            existing = entries.setdefault(parent, Dir())
            if not isinstance(existing, Dir):
                raise ValueError(f"{parent} is both a file and a directory")
        if rel in entries and not (isinstance(entries[rel], Dir) and isinstance(content, Dir)):
            raise ValueError(f"duplicate tar entry {rel}")
        entries[rel] = content
    out = bytearray()
    for rel in sorted(entries, key=lambda p: p.split("/")):
        content = entries[rel]
        if isinstance(content, Dir):
            out += _tar_header(rel, tarfile.DIRTYPE, 0, content.mode)
        elif isinstance(content, Symlink):
            out += _tar_header(rel, tarfile.SYMTYPE, 0, 0o777, content.target)
        else:
            f = content if isinstance(content, File) else File(
                content.encode() if isinstance(content, str) else content)
            out += _tar_header(rel, tarfile.REGTYPE, len(f.data), f.mode)
            out += f.data + b"\0" * (-len(f.data) % 512)
    out += b"\0" * 1024
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# JSON helpers
# --------------------------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def go_json(obj: Any) -> str:
    """Compact JSON the way Go's encoding/json writes it (keys in the given order, <>& escaped)."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def go_map(obj: Any) -> Any:
    """Sort keys recursively: JSON of a Go map[string]interface{} (layer `data`, TOML metadata)."""
    if isinstance(obj, dict):
        return {k: go_map(obj[k]) for k in sorted(obj)}
    if isinstance(obj, list):
        return [go_map(v) for v in obj]
    return obj


def canonical(obj: Any) -> bytes:
    return go_json(obj).encode()


def pretty(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def pretty_flat_leaves(obj: Any, indent: str = "") -> str:
    """Indented JSON where every object/array holding only scalars is written on one line."""
    def scalar_only(v: Any) -> bool:
        items = v.values() if isinstance(v, dict) else v
        return all(not isinstance(x, (dict, list)) for x in items)
    if not isinstance(obj, (dict, list)) or scalar_only(obj):
        return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
    inner = indent + "  "
    if isinstance(obj, dict):
        body = [f"{inner}{json.dumps(k)}: {pretty_flat_leaves(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(body) + "\n" + indent + "}"
    return "[\n" + ",\n".join(inner + pretty_flat_leaves(v, inner) for v in obj) + "\n" + indent + "]"


def synthetic_sha256(what: str) -> str:
    """A stand-in checksum for data we do not have (documented as synthesized wherever used)."""
    return hashlib.sha256(("bpdrift testdata synthesized: " + what).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# Images, blobs, layouts
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Image:
    """One platform image: layers (bottom first) and the OCI config without `rootfs`.

    `config` holds architecture/os/variant/created and the runtime `config` object; `rootfs` is
    computed from the layers. `layer_names` is informational (inventory/README only)."""

    layers: list[Layer]
    config: dict[str, Any]
    layer_names: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class LayerBlob:
    tar: bytes
    gz: bytes
    diff_id: str
    digest: str


_LAYER_CACHE: dict[str, LayerBlob] = {}


def layer_blob(files: Layer) -> LayerBlob:
    tar = tar_bytes(files)
    diff_id = sha256(tar)
    if diff_id not in _LAYER_CACHE:
        gz = gzip_bytes(tar)
        _LAYER_CACHE[diff_id] = LayerBlob(tar, gz, diff_id, sha256(gz))
    return _LAYER_CACHE[diff_id]


def diff_id(files: Layer) -> str:
    return layer_blob(files).diff_id


@dataclasses.dataclass
class Built:
    """A materialized image: manifest + config + layer blobs."""

    manifest: bytes
    config: bytes
    layers: list[LayerBlob]
    image: Image

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": MT_MANIFEST, "digest": self.digest, "size": len(self.manifest)}

    def platform(self) -> dict[str, str]:
        p = {"architecture": self.image.config["architecture"], "os": self.image.config["os"]}
        if "variant" in self.image.config:
            p["variant"] = self.image.config["variant"]
        return p


def build(image: Image) -> Built:
    blobs = [layer_blob(layer) for layer in image.layers]
    cfg: dict[str, Any] = {}
    for key in ("architecture", "variant", "os", "created"):
        if key in image.config:
            cfg[key] = image.config[key]
    cfg["config"] = image.config["config"]
    cfg["rootfs"] = {"type": "layers", "diff_ids": [b.diff_id for b in blobs]}
    if "history" in image.config:
        cfg["history"] = image.config["history"]
    unknown = set(image.config) - {"architecture", "variant", "os", "created", "config", "history"}
    if unknown:
        raise ValueError(f"unexpected config keys {unknown}")
    config = canonical(cfg)
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": MT_LAYER, "digest": b.digest, "size": len(b.gz)} for b in blobs],
    })
    return Built(manifest, config, blobs, image)


@dataclasses.dataclass
class BuiltIndex:
    index: bytes
    children: list[Built]

    @property
    def digest(self) -> str:
        return sha256(self.index)

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": MT_INDEX, "digest": self.digest, "size": len(self.index)}


def build_index(children: list[Built]) -> BuiltIndex:
    index = canonical({
        "schemaVersion": 2,
        "mediaType": MT_INDEX,
        "manifests": [{**c.descriptor(), "platform": c.platform()} for c in children],
    })
    return BuiltIndex(index, children)


Tagged = Union[Built, BuiltIndex]


def blobs_of(item: Tagged) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if isinstance(item, BuiltIndex):
        out[item.digest] = item.index
        for c in item.children:
            out.update(blobs_of(c))
    else:
        out[item.digest] = item.manifest
        out[sha256(item.config)] = item.config
        for b in item.layers:
            out[b.digest] = b.gz
    return out


def layout_files(tags: list[tuple[str, Tagged]]) -> dict[str, bytes]:
    """Files (relative path -> bytes) of an OCI image layout holding `tags`."""
    files: dict[str, bytes] = {"oci-layout": canonical({"imageLayoutVersion": "1.0.0"})}
    manifests = []
    blobs: dict[str, bytes] = {}
    for tag, item in tags:
        manifests.append({**item.descriptor(), "annotations": {REF_NAME: tag}})
        blobs.update(blobs_of(item))
    files["index.json"] = canonical({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": manifests})
    for digest, data in sorted(blobs.items()):
        files["blobs/sha256/" + digest.split(":", 1)[1]] = data
    return files


def docker_archive(item: Built, repo_tag: str) -> bytes:
    """A `docker save`-style tar: manifest.json, <config>.json, <layer>/layer.tar, repositories.

    Layer directories are named after the layer's diffID (legacy `docker save` used v1 layer IDs;
    readers only follow manifest.json); no VERSION/json files and no directory entries, to stay small."""
    config_name = sha256(item.config).split(":", 1)[1] + ".json"
    files: dict[str, Content] = {config_name: item.config}
    layer_paths = []
    for b in item.layers:
        name = b.diff_id.split(":", 1)[1]
        files[f"{name}/layer.tar"] = b.tar  # uncompressed; duplicates (empty layers) stored once
        layer_paths.append(f"{name}/layer.tar")
    files["manifest.json"] = canonical([{"Config": config_name, "RepoTags": [repo_tag], "Layers": layer_paths}])
    repo, tag = repo_tag.rsplit(":", 1)
    files["repositories"] = canonical({repo: {tag: layer_paths[-1].split("/")[0]}}) + b"\n"
    return tar_bytes(files, parent_dirs=False)


# --------------------------------------------------------------------------------------------------
# Inputs: the real samples in testdata/labels/
# --------------------------------------------------------------------------------------------------


def read_json(name: str) -> Any:
    return json.loads((LABELS / name).read_text(encoding="utf-8"))


class Inputs:
    def __init__(self) -> None:
        missing = [p.name for p in sorted(LABELS.glob("*")) if p.is_file() and not p.name.endswith(".source")
                   and not (LABELS / (p.name + ".source")).is_file()]
        if missing:
            raise SystemExit(f"samples without a .source file in {LABELS}: {missing}")
        pre = "paketo-java-petclinic-tiny-platform-0.8-lifecycle-0.13.1"
        self.petclinic_labels: dict[str, str] = read_json(f"{pre}.config-labels.json")
        self.petclinic_env: dict[str, Any] = read_json(f"{pre}.image-env.json")
        self.petclinic_2020_buildpacks: list[dict[str, str]] = read_json(
            "petclinic-2020-06-paketo-java-meta.build-metadata.buildpacks.json")
        self.builder_2020_labels: dict[str, str] = read_json("builder-paketo-bionic-2020.config-labels.json")
        self.builder_2020_config: dict[str, Any] = read_json("builder-paketo-bionic-2020.image-config.json")
        self.extracts: dict[str, Any] = read_json("upstream-buildpack-toml-extracts.json")
        self.jammy_stack: dict[str, Any] = tomllib.loads((LABELS / "jammy-base-stack.stack.toml").read_text())
        self.builder_2025_fragments = (LABELS / "builder-jammy-base-2025-04.builder-metadata.FRAGMENTS.txt").read_text()
        self.empty_version_fragment = (LABELS / "lifecycle-0.3-2019-03.lifecycle-metadata.empty-version.FRAGMENT.txt").read_text()
        with open(LABELS / "java-composite-versions.csv", newline="") as fh:
            self.java_composites = {row["java_composite_version"]: row for row in csv.DictReader(fh)}
        with open(LABELS / "bellsoft-liberica-release-jre-versions.tsv", newline="") as fh:
            self.liberica_jres = {row["tag"]: row["jre_versions(id=jre)"].split(",")
                                  for row in csv.DictReader(fh, delimiter="\t")}

    def composition(self, java_version: str) -> list[tuple[str, str]]:
        """Component buildpacks of paketo-buildpacks/java <version>, in group (execution) order."""
        row = self.java_composites[java_version]
        order = ["ca-certificates", "bellsoft-liberica", "syft", "executable-jar", "dist-zip", "spring-boot"]
        return [(f"paketo-buildpacks/{name}", row[name]) for name in order]

    def buildpack_info(self, bp_id: str, version: str) -> dict[str, Any]:
        for key, info in self.extracts["buildpack_info"].items():
            if key.split("@")[0] == bp_id:
                return go_map({**info, "version": version})
        raise KeyError(bp_id)

    def dependency(self, key: str) -> dict[str, Any]:
        return self.extracts["dependencies"][key]


# --------------------------------------------------------------------------------------------------
# Base (run) images
# --------------------------------------------------------------------------------------------------

TRIPLET = {"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu", "arm": "arm-linux-gnueabihf"}

OS_RELEASE_JAMMY = """PRETTY_NAME="Ubuntu 22.04.2 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.2 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
UBUNTU_CODENAME=jammy
"""

OS_RELEASE_BIONIC = """NAME="Ubuntu"
VERSION="18.04.4 LTS (Bionic Beaver)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 18.04.4 LTS"
VERSION_ID="18.04"
HOME_URL="https://www.ubuntu.com/"
SUPPORT_URL="https://help.ubuntu.com/"
BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"
PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"
VERSION_CODENAME=bionic
UBUNTU_CODENAME=bionic
"""

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_BUNDLE = "# placeholder for /etc/ssl/certs/ca-certificates.crt (Debian/Ubuntu package ca-certificates)\n"


def passwd_layer(user: str, uid: int, gid: int, group: str | None = None) -> Layer:
    group = group or user
    return {
        "/etc/passwd": f"root:x:0:0:root:/root:/bin/bash\n{user}:x:{uid}:{gid}::/home/{user}:/bin/bash\n",
        "/etc/group": f"root:x:0:\n{group}:x:{gid}:\n",
        f"/home/{user}": Dir(),
    }


def ubuntu_run_layers(os_release: str, arch: str, what: str, user: tuple[str, int, int]) -> list[Layer]:
    lib = f"/usr/lib/{TRIPLET[arch]}"
    return [
        {"/etc/os-release": os_release,
         f"{lib}/libc.so.6": exe(f"placeholder for the C library of {what} (linux/{arch})\n")},
        {"/etc/ssl/certs/ca-certificates.crt": CA_BUNDLE,
         "/usr/share/zoneinfo/Etc/UTC": "placeholder for tzdata\n",
         f"{lib}/libssl.so.3": exe(f"placeholder for OpenSSL of {what} (linux/{arch})\n")},
        passwd_layer(*user),
    ]


@dataclasses.dataclass
class RunImage:
    name: str  # repository, e.g. paketobuildpacks/run-jammy-base
    tag: str
    built: Built
    stack_labels: dict[str, str]

    @property
    def top_layer(self) -> str:
        return self.built.layers[-1].diff_id

    @property
    def digest_ref(self) -> str:
        return f"index.docker.io/{self.name}@{self.built.digest}"

    @property
    def image_id(self) -> str:  # what `docker images --no-trunc` shows, without "sha256:"
        return sha256(self.built.config).split(":", 1)[1]


def platform_fields(arch: str) -> dict[str, str]:
    fields = {"architecture": arch}
    if arch == "arm64":
        fields["variant"] = "v8"
    elif arch == "arm":
        fields["variant"] = "v7"
    fields["os"] = "linux"
    return fields


def layer_sbom(bp_id: str, layer: str, d: str, dep: dict, legacy: bool, fmt: str, name: str, kind: str):
    """The SBOM a buildpack writes of a dependency layer, as (path, document): syft JSON in the images without
    application libraries, else `fmt` ("cdx" or "spdx") naming the package `name` of purl type `kind`."""
    base = f"/layers/sbom/launch/{esc(bp_id)}/{layer}"
    if legacy:
        return f"{base}/sbom.syft.json", syft_json([{"name": dep["name"], "version": dep["version"], "purl": dep["purl"]}], d)
    write = {"cdx": cyclonedx_json, "spdx": spdx_json}[fmt]
    return f"{base}/sbom.{fmt}.json", write([{"name": name, "version": dep["version"], "purl": dep["purl"], "type": kind}], d)


def jammy_stack_labels(stack: dict, side: str) -> dict[str, str]:
    """The io.buildpacks.stack.* labels jammy-base-stack's stack.toml gives its `run` or `build` image."""
    return {
        "io.buildpacks.stack.description": stack[side]["description"],
        "io.buildpacks.stack.distro.name": "ubuntu",
        "io.buildpacks.stack.distro.version": "22.04",
        "io.buildpacks.stack.homepage": stack["homepage"],
        "io.buildpacks.stack.id": stack["id"],
        "io.buildpacks.stack.maintainer": stack["maintainer"],
        "io.buildpacks.stack.metadata": "{}",
        "io.buildpacks.stack.mixins": go_json(stack[side]["args"]["packages"].split()),
    }


def jammy_run_image(inp: Inputs, arch: str, patched: bool = False,
                    os_packages: list[tuple[str, str]] | None = None) -> RunImage:
    """paketobuildpacks/run-jammy-base (synthesized after paketo-buildpacks/jammy-base-stack stack.toml).

    `patched`: the next build of the same run image (an OpenSSL fix and a new top layer), what `pack rebase` moves to.
    `os_packages`: the run image carries its OS package SBOM (/cnb/sbom/bom.cdx.json) in a layer of its own, named by the
    io.buildpacks.base.sbom label, as Paketo's jammy stacks do."""
    stack = inp.jammy_stack
    labels = {**jammy_stack_labels(stack, "run"), "io.buildpacks.stack.released": "2023-05-30T00:00:00Z"}
    uid, gid = stack["run"]["uid"], stack["run"]["gid"]
    run_layers = ubuntu_run_layers(OS_RELEASE_JAMMY, arch, "run-jammy-base", ("cnb", uid, gid))
    if patched:
        lib = f"/usr/lib/{TRIPLET[arch]}"
        run_layers[1][f"{lib}/libssl.so.3"] = exe(f"placeholder for OpenSSL of run-jammy-base, 2023-06-15 fix (linux/{arch})\n")
        run_layers[2]["/etc/cnb-run-image-build"] = "2023-06-15\n"
        labels["io.buildpacks.stack.released"] = "2023-06-15T00:00:00Z"
    layer_names = ["run: os", "run: packages", "run: cnb user"]
    if os_packages is not None:
        sbom_layer: Layer = {"/cnb/sbom/bom.cdx.json": cyclonedx_json(
            [deb_component(name, version, arch) for name, version in os_packages], "paketobuildpacks/run-jammy-base")}
        run_layers.append(sbom_layer)
        layer_names.append("run: sbom")
        labels["io.buildpacks.base.sbom"] = diff_id(sbom_layer)
    image = Image(
        layers=run_layers,
        config={**platform_fields(arch), "created": "2023-06-15T00:00:00Z" if patched else "2023-05-30T00:00:00Z",
                "config": {"User": f"{uid}:{gid}", "Env": [f"PATH={BASE_PATH}"], "Labels": dict(sorted(labels.items()))}},
        layer_names=layer_names,
    )
    return RunImage("paketobuildpacks/run-jammy-base", "latest", build(image), labels)


def bionic_run_image(packages: list[dict[str, Any]] | None = None) -> RunImage:
    """A 2019/2020-era bionic run image (synthesized); `packages`: the io.paketo.stack.packages label Paketo's bionic
    run images carried (jam's stack packages: name, version, arch, source, summary)."""
    labels = {
        "io.buildpacks.stack.id": "io.buildpacks.stacks.bionic",
        "io.buildpacks.stack.mixins": go_json(["ca-certificates", "libssl1.1", "openssl", "tzdata", "zlib1g"]),
    }
    if packages is not None:
        labels["io.paketo.stack.packages"] = go_json(packages)
    image = Image(
        layers=ubuntu_run_layers(OS_RELEASE_BIONIC, "amd64", "a bionic run image", ("cnb", 1000, 1000)),
        config={**platform_fields("amd64"), "created": "2020-06-01T00:00:00Z",
                "config": {"User": "1000:1000", "Env": [f"PATH={BASE_PATH}"], "Labels": labels}},
        layer_names=["run: os", "run: packages", "run: cnb user"],
    )
    return RunImage("paketobuildpacks/run", "base-cnb", build(image), labels)


# --------------------------------------------------------------------------------------------------
# Paketo Java app images (Spring Boot 3.1, lifecycle 0.16.5, Platform API 0.11)
# --------------------------------------------------------------------------------------------------

LIFECYCLE_0_16_5 = ("0.16.5", "7679c687")  # tag v0.16.5 = 7679c6870a4b..., 2023-07-14
LIBERICA_HELPERS = ["active-processor-count", "java-opts", "jvm-heap", "link-local-dns", "memory-calculator",
                    "security-providers-configurer", "jmx", "jfr", "security-providers-classpath-9", "debug-9",
                    "nmt", "openssl-certificate-loader"]  # libjvm v1.42.0 build.go contributeHelpers, Java 17
JAR_LAUNCHER = "org.springframework.boot.loader.JarLauncher"  # Spring Boot < 3.2
APP_REVISION = hashlib.sha1(b"bpdrift testdata: spring-petclinic incident app").hexdigest()  # synthesized


def esc(bp_id: str) -> str:
    return bp_id.replace("/", "_")


def bp_layer_dir(bp_id: str, name: str) -> str:
    return f"/layers/{esc(bp_id)}/{name}"


def layer_md(sha: str, data: Any, build: bool = False, launch: bool = True, cache: bool = False) -> dict[str, Any]:
    return {"sha": sha, "data": data, "build": build, "launch": launch, "cache": cache}


def helper_layer(bp_id: str, version: str, names: list[str], arch: str) -> Layer:
    d = bp_layer_dir(bp_id, "helper")
    files: Layer = {f"{d}/helper": exe(f"placeholder for the libpak launch helper binary of {bp_id} {version} (linux/{arch})\n")}
    for name in names:
        files[f"{d}/exec.d/{name}"] = Symlink(f"{d}/helper")
    return files


SBOM_SHAPES = HERE / "sbom"  # real documents (each with a .source line); the generated SBOMs keep their shape


def sbom_shape(name: str) -> Any:
    return json.loads((SBOM_SHAPES / name).read_text(encoding="utf-8"))


def deb_component(name: str, version: str, arch: str) -> dict[str, str]:
    return {"name": name, "version": version, "type": "deb",
            "purl": f"pkg:deb/ubuntu/{name}@{version}?arch={arch}&distro=ubuntu-22.04"}


def cyclonedx_json(packages: list[dict[str, str]], subject: str) -> str:
    """CycloneDX 1.6 after syft's own encoder output (testdata/sbom/syft-cyclonedx-1.6.cdx.json): its metadata, its deb
    component as the template of every component, its operating-system component last."""
    doc = sbom_shape("syft-cyclonedx-1.6.cdx.json")
    template, os_component = doc["components"][1], doc["components"][2]
    doc["serialNumber"] = "urn:uuid:" + str(uuid_of(subject + "".join(p["purl"] for p in packages)))
    doc["metadata"]["component"]["name"] = subject
    comps = []
    for p in packages:
        c = json.loads(json.dumps(template))
        c.update({"bom-ref": p["purl"], "name": p["name"], "version": p["version"], "purl": p["purl"]})
        c.pop("cpe", None)
        c["properties"] = [{"name": "syft:package:type", "value": p["type"]}]
        comps.append(c)
    os_component = {**os_component, "bom-ref": "os:ubuntu@22.04", "name": "ubuntu", "version": "22.04",
                    "description": "ubuntu", "swid": {"tagId": "ubuntu", "name": "ubuntu", "version": "22.04"},
                    "properties": [{"name": "syft:distro:id", "value": "ubuntu"},
                                   {"name": "syft:distro:versionID", "value": "22.04"}]}
    doc["components"] = comps + [os_component]
    return json.dumps(doc, indent=2) + "\n"


def spdx_json(packages: list[dict[str, str]], subject: str) -> str:
    """SPDX 2.3 after syft's own encoder output (testdata/sbom/syft-spdx-2.3.spdx.json)."""
    doc = sbom_shape("syft-spdx-2.3.spdx.json")
    template = doc["packages"][1]
    doc["name"] = subject
    doc["documentNamespace"] = f"https://paketo.io/sbom/{subject}"
    pkgs = []
    for i, p in enumerate(packages):
        c = json.loads(json.dumps(template))
        c.update({"name": p["name"], "SPDXID": f"SPDXRef-Package-{p['type']}-{p['name']}-{i}", "versionInfo": p["version"],
                  "sourceInfo": f"acquired package info from {subject}"})
        c["externalRefs"] = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p["purl"]}]
        pkgs.append(c)
    doc["packages"] = pkgs
    doc["relationships"] = [{"spdxElementId": "SPDXRef-DOCUMENT", "relatedSpdxElement": c["SPDXID"],
                             "relationshipType": "DESCRIBES"} for c in pkgs]
    return json.dumps(doc, indent=1) + "\n"


def syft_doc(packages: list[dict[str, str]], subject: str) -> str:
    """syft JSON (schema 16.0.24) after syft's own encoder output (testdata/sbom/syft-json.syft.json)."""
    doc = sbom_shape("syft-json.syft.json")
    template = doc["artifacts"][0]
    arts = []
    for p in packages:
        a = json.loads(json.dumps(template))
        a.update({"id": hashlib.sha256(p["purl"].encode()).hexdigest()[:16], "name": p["name"], "version": p["version"],
                  "type": p["type"], "foundBy": "java-archive-cataloger", "purl": p["purl"], "language": "java",
                  "metadataType": "java-archive", "metadata": {"virtualPath": f"{subject}/{p['name']}-{p['version']}.jar"}})
        a["locations"] = [{"path": f"{subject}/{p['name']}-{p['version']}.jar"}]
        a["cpes"] = []
        arts.append(a)
    doc["artifacts"] = arts
    doc["source"] = {"id": "", "name": subject, "version": "", "type": "directory", "metadata": {"path": subject}}
    doc.pop("distro", None)
    doc["schema"] = {"version": "16.0.24", "url": "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.24.json"}
    return json.dumps(doc, indent=1) + "\n"


def uuid_of(text: str) -> str:
    h = hashlib.sha256(text.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def maven(group: str, name: str, version: str) -> dict[str, str]:
    return {"name": name, "version": version, "type": "java-archive", "purl": f"pkg:maven/{group}/{name}@{version}"}


def syft_json(artifacts: list[dict[str, str]], target: str) -> str:
    return go_json({"artifacts": artifacts, "source": {"type": "directory", "target": target},
                    "note": "placeholder SBOM written by bpdrift testdata/generate.py"}) + "\n"


def jre_dependency(inp: Inputs, arch: str, version: str) -> dict[str, Any]:
    """data.dependency of the bellsoft-liberica jre layer (libpak BuildpackDependency, TOML -> JSON)."""
    real = inp.dependency("paketo-buildpacks/bellsoft-liberica@10.2.3 jre 17.0.7 amd64")
    dep = dict(real)
    if arch != "amd64" or version != real["version"]:
        # synthesized: bellsoft-liberica 10.2.x shipped amd64 JREs only (see upstream-buildpack-toml-extracts.json.source)
        build_no = {"17.0.7": "7", "17.0.6": "10"}[version]
        file_arch = {"amd64": "amd64", "arm64": "aarch64", "arm": "arm32-vfp-hflt"}[arch]
        dep["uri"] = (f"https://github.com/bell-sw/Liberica/releases/download/{version}+{build_no}/"
                      f"bellsoft-jre{version}+{build_no}-linux-{file_arch}.tar.gz")
        dep["sha256"] = synthetic_sha256(dep["uri"])
        dep["cpes"] = [f"cpe:2.3:a:oracle:jre:{version}:*:*:*:*:*:*:*"]
        dep["version"] = version
    dep["purl"] = f"pkg:generic/bellsoft-jre@{version}?arch={arch}"
    dep["stacks"] = ["io.buildpacks.stacks.jammy"]  # deliberate; real buildpack.toml: bionic, tiny, *
    dep["deprecation_date"] = "0001-01-01T00:00:00Z"  # libpak >= 1.64 writes the zero time when unset
    return go_map(dep)


def spring_boot_app_layers(changed: bool = False) -> tuple[list[Layer], list[str]]:
    """The exploded Spring Boot 3.1 layered jar in /workspace, sliced like the spring-boot buildpack does."""
    lib = "/workspace/BOOT-INF/lib"
    scb = "spring-cloud-bindings-1.13.0.jar"
    manifest = "\r\n".join([
        "Manifest-Version: 1.0",
        f"Main-Class: {JAR_LAUNCHER}",
        "Start-Class: org.springframework.samples.petclinic.PetClinicApplication",
        "Spring-Boot-Version: 3.1.0",
        "Spring-Boot-Classes: BOOT-INF/classes/",
        "Spring-Boot-Lib: BOOT-INF/lib/",
        "Spring-Boot-Classpath-Index: BOOT-INF/classpath.idx",
        "Spring-Boot-Layers-Index: BOOT-INF/layers.idx",
        "Implementation-Title: spring-petclinic",
        "Implementation-Version: 3.1.0-SNAPSHOT",
        "Build-Jdk-Spec: 17",
        "", ""])
    jars = ["spring-boot-3.1.0.jar", "spring-webmvc-6.0.9.jar", "tomcat-embed-core-10.1.8.jar"]
    dependencies: Layer = {f"{lib}/{j}": f"placeholder for {j}\n" for j in jars}
    # the spring-boot buildpack links its spring-cloud-bindings layer into the application's lib directory
    dependencies[f"{lib}/{scb}"] = Symlink(f"{bp_layer_dir('paketo-buildpacks/spring-boot', 'spring-cloud-bindings')}/{scb}")
    loader: Layer = {f"/workspace/org/springframework/boot/loader/{c}.class": f"placeholder for {c}.class\n"
                     for c in ("JarLauncher", "LaunchedURLClassLoader")}
    application: Layer = {
        "/workspace/BOOT-INF/classes/application.properties": "spring.application.name=petclinic\n" + (
            "server.shutdown=graceful\n" if changed else ""),
        "/workspace/BOOT-INF/classes/org/springframework/samples/petclinic/PetClinicApplication.class":
            "placeholder for PetClinicApplication.class\n",
        "/workspace/BOOT-INF/classpath.idx": "".join(f'- "BOOT-INF/lib/{j}"\n' for j in jars),
        "/workspace/BOOT-INF/layers.idx": '- "dependencies":\n  - "BOOT-INF/lib/"\n- "spring-boot-loader":\n'
                                          '  - "org/"\n- "snapshot-dependencies":\n- "application":\n'
                                          '  - "BOOT-INF/classes/"\n  - "BOOT-INF/classpath.idx"\n'
                                          '  - "BOOT-INF/layers.idx"\n  - "META-INF/"\n',
        "/workspace/META-INF/MANIFEST.MF": manifest,
    }
    # slices: dependencies, spring-boot-loader, snapshot-dependencies (empty), application, rest (empty)
    return ([dependencies, loader, {}, application, {}],
            ["app: dependencies", "app: spring-boot-loader", "app: snapshot-dependencies (empty)",
             "app: application", "app: remaining files (empty)"])


ZIP_DATE = (2023, 6, 1, 0, 0, 0)  # date_time of every zip entry


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    """A deterministic jar/zip written by Python's zipfile: names sorted, date_time ZIP_DATE, unix attributes.

    Empty entries (the class files) are ZIP_DEFLATED; their deflate stream is the two bytes 03 00 with every
    zlib build (asserted). Non-empty entries (manifests, resources, nested jars) are ZIP_STORED, so that the
    bytes never depend on the zlib build (nested jars are stored as Spring Boot requires anyway)."""
    probe = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    if probe.compress(b"") + probe.flush() != b"\x03\x00":
        raise AssertionError("this zlib does not deflate empty input to 03 00; zip entries would not be reproducible")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            zi = zipfile.ZipInfo(name, ZIP_DATE)
            zi.create_system = 3  # unix, independent of the host
            zi.external_attr = 0o100644 << 16
            zi.compress_type = zipfile.ZIP_STORED if entries[name] else zipfile.ZIP_DEFLATED
            zf.writestr(zi, entries[name])
    return buf.getvalue()


def jar_manifest(*lines: str) -> bytes:
    return "\r\n".join(["Manifest-Version: 1.0", *lines, "", ""]).encode()


def class_entries(prefix: str, count: int) -> dict[str, bytes]:
    return {f"{prefix}{n}.class": b"" for n in range(1, count + 1)}


def spring_cloud_bindings_jar() -> bytes:
    """spring-cloud-bindings-1.13.0.jar stand-in: 100 (empty) classes + a manifest."""
    return zip_bytes({**class_entries("io/pivotal/cfenv/C", 100),
                      "META-INF/MANIFEST.MF": jar_manifest("Implementation-Title: spring-cloud-bindings",
                                                           "Implementation-Version: 1.13.0")})


def memcalc_app_layers(big_jar_classes: int = 0) -> tuple[list[Layer], list[str]]:
    """An exploded Spring Boot jar in /workspace whose class count (libjvm count.go rules) is known exactly.

    Every kind of file libjvm's class counter meets: .class/.groovy/.kts/.clj/.classdata files, a jar,
    a fat jar with a nested jar (one level counts) that nests another jar (does not count), a 0-byte
    "none" jar and a non-zip .jar (both skipped), and the spring-cloud-bindings symlink into the
    spring-boot buildpack's layer (counted through the link). Sliced like spring_boot_app_layers."""
    lib = "/workspace/BOOT-INF/lib"
    classes = "/workspace/BOOT-INF/classes"
    scb = "spring-cloud-bindings-1.13.0.jar"
    jars = ["dep-a-1.0.jar", "fat-2.0.jar"] + (["big-1.0.jar"] if big_jar_classes else [])
    deeper = zip_bytes(class_entries("deeper/D", 7))
    inner = zip_bytes({**class_entries("inner/I", 50), "deeper.jar": deeper})
    dependencies: Layer = {
        f"{lib}/dep-a-1.0.jar": zip_bytes({**class_entries("dep/a/A", 1000), "META-INF/MANIFEST.MF": jar_manifest(),
                                           "dep/a/messages.properties": b"greeting=hello\n",
                                           "dep/a/schema.xsd": b"<schema/>\n"}),
        f"{lib}/fat-2.0.jar": zip_bytes({**class_entries("fat/F", 10), "lib/inner-1.0.jar": inner}),
        f"{lib}/none-placeholder.jar": b"",
        f"{lib}/not-a-zip.jar": "not a zip\n",
        # the spring-boot buildpack links its spring-cloud-bindings layer into the application's lib directory
        f"{lib}/{scb}": Symlink(f"{bp_layer_dir('paketo-buildpacks/spring-boot', 'spring-cloud-bindings')}/{scb}"),
    }
    if big_jar_classes:
        dependencies[f"{lib}/big-1.0.jar"] = zip_bytes(class_entries("b/", big_jar_classes))
    loader: Layer = {"/workspace/org/springframework/boot/loader/JarLauncher.class": b""}
    application: Layer = {
        **{f"{classes}/com/example/App{n}.class": b"" for n in range(1, 31)},
        f"{classes}/application.yml": "spring:\n  application:\n    name: memcalc-app\n",
        f"{classes}/scripts/a.groovy": "println 'a'\n",
        f"{classes}/scripts/b.kts": "println(\"b\")\n",
        f"{classes}/scripts/c.clj": "(println \"c\")\n",
        f"{classes}/scripts/d.classdata": b"",
        "/workspace/BOOT-INF/classpath.idx": "".join(f'- "BOOT-INF/lib/{j}"\n' for j in jars + [scb]),
        "/workspace/META-INF/MANIFEST.MF": jar_manifest(f"Main-Class: {JAR_LAUNCHER}",
                                                        "Start-Class: com.example.App1",
                                                        "Spring-Boot-Version: 3.1.0",
                                                        "Spring-Boot-Classes: BOOT-INF/classes/",
                                                        "Spring-Boot-Lib: BOOT-INF/lib/",
                                                        "Spring-Boot-Classpath-Index: BOOT-INF/classpath.idx",
                                                        "Build-Jdk-Spec: 17").decode(),
    }
    return ([dependencies, loader, {}, application, {}],
            ["app: dependencies", "app: spring-boot-loader", "app: snapshot-dependencies (empty)",
             "app: application", "app: remaining files (empty)"])


CLASS_EXTENSIONS = (".class", ".classdata", ".clj", ".groovy", ".kts")  # libjvm count.go ClassFileExtensions
JRE_ENV = "layers/paketo-buildpacks_bellsoft-liberica/jre/env.launch"
WEB_APP_ENV = "layers/paketo-buildpacks_spring-boot/web-application-type/env.launch"


def image_tree(built: Built) -> dict[str, tarfile.TarInfo | bytes]:
    """The merged file system of a built image, re-read from its layer tars (no whiteouts are used)."""
    tree: dict[str, tarfile.TarInfo | bytes] = {}
    for blob in built.layers:
        with tarfile.open(fileobj=io.BytesIO(blob.tar)) as tf:
            for m in tf.getmembers():
                if m.isfile():
                    fh = tf.extractfile(m)
                    assert fh is not None
                    tree[m.name] = fh.read()
                else:
                    tree[m.name] = m
    return tree


def count_zip_classes(data: bytes, nested: bool) -> int:
    """Class entries of a jar, plus (if `nested`) those of jars nested one level deep in it."""
    count = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if info.filename.endswith(CLASS_EXTENSIONS):
                count += 1
            elif nested and info.filename.endswith(".jar"):
                try:
                    count += count_zip_classes(zf.read(info), nested=False)
                except zipfile.BadZipFile:
                    pass
    return count


def expected_memory(built: Built) -> dict[str, int]:
    """Memory-calculator inputs of a jvm-* image, computed from its generated layer tars by libjvm's rules:
    app classes counted under /workspace (symlinks followed; class-extension files; jars and their
    one-level nested jars; 0-byte jars named *none* and non-zip jars skipped), JVM classes from
    BPI_JVM_CLASS_COUNT.default, threads from BPL_JVM_THREAD_COUNT.default."""
    tree = image_tree(built)
    app_classes = 0
    for path in sorted(tree):
        if not path.startswith("workspace/"):
            continue
        entry = tree[path]
        for _ in range(8):  # follow symlinks (absolute targets inside the image)
            if isinstance(entry, tarfile.TarInfo) and entry.issym():
                entry = tree[entry.linkname.lstrip("/")]
        if isinstance(entry, tarfile.TarInfo):
            continue  # directory
        if path.endswith(CLASS_EXTENSIONS):
            app_classes += 1
        elif path.endswith(".jar"):
            if not entry and "none" in path.rsplit("/", 1)[1]:
                continue
            try:
                app_classes += count_zip_classes(entry, nested=True)
            except zipfile.BadZipFile:
                continue
    jvm = tree[f"{JRE_ENV}/BPI_JVM_CLASS_COUNT.default"]
    threads = tree[f"{WEB_APP_ENV}/BPL_JVM_THREAD_COUNT.default"]
    assert isinstance(jvm, bytes) and isinstance(threads, bytes)
    return {"app_classes": app_classes, "jvm_classes": int(jvm.decode()), "thread_count": int(threads.decode())}


def file_listing_hash(layers: list[Layer]) -> str:
    """sha256 over "path mode sha256" lines, like spring-boot's web-application-type `files` value."""
    h = hashlib.sha256()
    for layer in layers:
        for path in sorted(layer):
            c = layer[path]
            if isinstance(c, (Dir, Symlink)):
                continue
            data = c.data if isinstance(c, File) else (c.encode() if isinstance(c, str) else c)
            h.update(f"{path}-rw-r--r--{hashlib.sha256(data).hexdigest()}\n".encode())
    return h.hexdigest()


def toml_str(s: str) -> str:
    return json.dumps(s)


def metadata_toml(buildpacks: list[dict[str, str]], processes: list[dict[str, Any]], default: str) -> str:
    """/layers/config/metadata.toml (the lifecycle's build metadata, subset)."""
    out = [f"buildpack-default-process-type = {toml_str(default)}", ""]
    for bp in buildpacks:
        out += ["[[buildpacks]]"] + [f"  {k} = {toml_str(v)}" for k, v in bp.items()] + [""]
    for p in processes:
        out.append("[[processes]]")
        out.append(f"  type = {toml_str(p['type'])}")
        cmd = p["command"] if isinstance(p["command"], list) else [p["command"]]
        out.append(f"  command = [{', '.join(toml_str(c) for c in cmd)}]")
        out.append(f"  args = [{', '.join(toml_str(a) for a in (p['args'] or []))}]")
        out.append(f"  direct = {'true' if p['direct'] else 'false'}")
        if "buildpackID" in p:
            out.append(f"  buildpack-id = {toml_str(p['buildpackID'])}")
        out.append("")
    return "\n".join(out)


@dataclasses.dataclass
class JavaApp:
    java: str  # paketo-buildpacks/java composite version whose components were used
    arch: str = "amd64"
    jre_version: str = "17.0.7"
    # memory-calculator inputs (jvm-* tags only; the defaults keep the incident/multiarch images unchanged)
    spring_boot: str | None = None  # override of the spring-boot buildpack version of the composition
    thread_count: str = "250"  # BPL_JVM_THREAD_COUNT.default of spring-boot's web-application-type layer
    jvm_class_count: str | None = None  # BPI_JVM_CLASS_COUNT.default of the jre layer (not written when None)
    memcalc_app: bool = False  # the class-counting app of memcalc_app_layers() instead of the placeholder petclinic
    big_jar_classes: int = 0  # memcalc_app only: add BOOT-INF/lib/big-1.0.jar with this many class entries
    # attribution fixtures (the defaults keep every other image unchanged)
    app_change: bool = False  # a code change: the application slice gets one more property
    jre_rebuild: bool = False  # the jre layer rebuilt at the same buildpack version (a new trust store)
    # package fixtures: real-format SBOMs (CycloneDX jre, SPDX spring-cloud-bindings, syft JSON app libraries)
    app_libraries: list[dict[str, str]] | None = None


def paketo_java_image(inp: Inputs, app: JavaApp, run: RunImage) -> tuple[Image, dict[str, str]]:
    """A Spring Boot 3.1 app built by the Paketo Java component buildpacks on jammy (lifecycle 0.16.5)."""
    arch = app.arch
    group = inp.composition(app.java)
    if app.spring_boot is not None:
        group = [(b, app.spring_boot if b == "paketo-buildpacks/spring-boot" else v) for b, v in group]
    versions = dict(group)
    liberica = versions["paketo-buildpacks/bellsoft-liberica"]
    if app.jre_version == "17.0.7" and "17.0.7" not in inp.liberica_jres[f"v{liberica}"]:
        raise SystemExit(f"bellsoft-liberica {liberica} does not offer JRE 17.0.7")
    launcher_version, launcher_commit = LIFECYCLE_0_16_5

    # ---- buildpack layers (group order; per buildpack sorted by layer name, as the exporter adds them)
    layers: list[Layer] = list(run.built.image.layers)
    names: list[str] = list(run.built.image.layer_names)
    bp_md: list[dict[str, Any]] = []
    app_layers, app_names = (memcalc_app_layers(app.big_jar_classes) if app.memcalc_app
                             else spring_boot_app_layers(app.app_change))
    cert_file = hashlib.sha256(CA_BUNDLE.encode()).hexdigest()

    def add(bp_id: str, lname: str, files: Layer, data: Any, **flags: bool) -> dict[str, Any]:
        layers.append(files)
        names.append(f"{bp_id}:{lname}")
        return layer_md(diff_id(files), data, **flags)

    jre_dep = jre_dependency(inp, arch, app.jre_version)
    sbom_files: Layer = {
        "/layers/sbom/launch/buildpacksio_lifecycle/launcher/sbom.syft.json": syft_json(
            [{"name": "lifecycle", "version": launcher_version, "purl": f"pkg:github/buildpacks/lifecycle@v{launcher_version}"}],
            "/cnb/lifecycle/launcher"),
    }
    for bp_id, version in group:
        bp_layers: dict[str, Any] = {}
        info = inp.buildpack_info(bp_id, version) if bp_id in (
            "paketo-buildpacks/ca-certificates", "paketo-buildpacks/bellsoft-liberica", "paketo-buildpacks/spring-boot") else None
        if bp_id == "paketo-buildpacks/ca-certificates":
            helpers = ["ca-certificates-helper"]
            bp_layers["helper"] = add(bp_id, "helper", helper_layer(bp_id, version, helpers, arch),
                                      {"buildpackInfo": info, "helperNames": helpers})
        elif bp_id == "paketo-buildpacks/bellsoft-liberica":
            bp_layers["helper"] = add(bp_id, "helper", helper_layer(bp_id, version, LIBERICA_HELPERS, arch),
                                      {"buildpackInfo": info, "helperNames": LIBERICA_HELPERS})
            d = bp_layer_dir(bp_id, "java-security-properties")
            bp_layers["java-security-properties"] = add(bp_id, "java-security-properties", {
                f"{d}/java-security.properties": "",
                f"{d}/env.launch/JAVA_SECURITY_PROPERTIES.default": f"{d}/java-security.properties",
                f"{d}/env.launch/JAVA_TOOL_OPTIONS.append": f"-Djava.security.properties={d}/java-security.properties",
                f"{d}/env.launch/JAVA_TOOL_OPTIONS.delim": " ",
            }, info)
            d = bp_layer_dir(bp_id, "jre")
            class_count: Layer = {} if app.jvm_class_count is None else {
                f"{d}/env.launch/BPI_JVM_CLASS_COUNT.default": app.jvm_class_count}
            bp_layers["jre"] = add(bp_id, "jre", {
                **class_count,
                f"{d}/bin/java": exe(f"placeholder for the java launcher of {jre_dep['uri'].rsplit('/', 1)[1]}\n"),
                f"{d}/release": f'IMPLEMENTOR="BellSoft"\nJAVA_VERSION="{app.jre_version}"\n',
                f"{d}/lib/security/cacerts": "placeholder for the JRE trust store\n" + (
                    "rebuilt with the ca-certificates of 2023-06-15\n" if app.jre_rebuild else ""),
                f"{d}/env.launch/BPI_APPLICATION_PATH.default": "/workspace",
                f"{d}/env.launch/BPI_JVM_CACERTS.default": f"{d}/lib/security/cacerts",
                f"{d}/env.launch/JAVA_HOME.default": d,
                f"{d}/env.launch/JAVA_TOOL_OPTIONS.append": "-XX:+ExitOnOutOfMemoryError",
                f"{d}/env.launch/JAVA_TOOL_OPTIONS.delim": " ",
                f"{d}/env.launch/MALLOC_ARENA_MAX.default": "2",
            }, go_map({"cert-file": cert_file, "dependency": jre_dep}))
            path, doc = layer_sbom(bp_id, "jre", d, jre_dep, app.app_libraries is None, "cdx", "bellsoft-jre", "generic")
            sbom_files[path] = doc
        elif bp_id == "paketo-buildpacks/executable-jar":
            if app.app_libraries is not None:
                # what executable-jar records of the application (its jars, found by syft): not in a layer of its own
                sbom_files[f"/layers/sbom/launch/{esc(bp_id)}/sbom.syft.json"] = syft_doc(app.app_libraries, "/workspace")
            d = bp_layer_dir(bp_id, "classpath")
            bp_layers["classpath"] = add(bp_id, "classpath", {f"{d}/env/CLASSPATH.delim": ":", f"{d}/env/CLASSPATH.prepend": "/workspace"},
                                         {"classpath": ["/workspace"], "launch": True}, build=True)
        elif bp_id == "paketo-buildpacks/spring-boot":
            helpers = ["spring-cloud-bindings"]
            bp_layers["helper"] = add(bp_id, "helper", helper_layer(bp_id, version, helpers, arch),
                                      {"buildpackInfo": info, "helperNames": helpers})
            scb = inp.dependency("paketo-buildpacks/spring-boot@5.25.1 spring-cloud-bindings 1.13.0")
            scb = go_map({**scb, "deprecation_date": "0001-01-01T00:00:00Z"})
            d = bp_layer_dir(bp_id, "spring-cloud-bindings")
            scb_jar: Content = (spring_cloud_bindings_jar() if app.memcalc_app
                                else f"placeholder for spring-cloud-bindings-{scb['version']}.jar\n")
            bp_layers["spring-cloud-bindings"] = add(bp_id, "spring-cloud-bindings", {
                f"{d}/spring-cloud-bindings-{scb['version']}.jar": scb_jar}, scb)
            path, doc = layer_sbom(bp_id, "spring-cloud-bindings", d, scb, app.app_libraries is None, "spdx",
                                   "spring-cloud-bindings", "maven")
            sbom_files[path] = doc
            d = bp_layer_dir(bp_id, "web-application-type")
            bp_layers["web-application-type"] = add(bp_id, "web-application-type", {
                f"{d}/env.launch/BPL_JVM_THREAD_COUNT.default": app.thread_count},  # 250: servlet app (spring-boot >= 5.24.0)
                {"files": file_listing_hash(app_layers)})
        if info is not None:
            sbom_files[f"/layers/sbom/launch/{esc(bp_id)}/helper/sbom.syft.json"] = syft_json(
                [{"name": "helper", "version": version, "purl": f"pkg:generic/{bp_id}@{version}"}],
                bp_layer_dir(bp_id, "helper"))
        bp_md.append({"key": bp_id, "version": version, "layers": dict(sorted(bp_layers.items()))})

    # ---- SBOM, app slices, launcher, config, process-types (exporter order)
    layers.append(sbom_files)
    names.append("launch.sbom")
    sbom_sha = diff_id(sbom_files)
    layers += app_layers
    names += app_names
    app_md = [{"sha": diff_id(layer)} for layer in app_layers]

    buildpacks = [{"id": bp_id, "version": v, "homepage": f"https://github.com/{bp_id}"} for bp_id, v in group]
    processes = [{"type": t, "command": ["java"], "args": [JAR_LAUNCHER], "direct": True,
                  "buildpackID": "paketo-buildpacks/executable-jar"} for t in ("executable-jar", "task", "web")]
    launcher = {"/cnb/lifecycle/launcher": exe(f"placeholder for the CNB launcher {launcher_version} "
                                              f"(lifecycle commit {launcher_commit}, linux/{arch})\n")}
    config_layer = {"/layers/config/metadata.toml": metadata_toml(buildpacks, processes, "web")}
    process_types = {f"/cnb/process/{p['type']}": Symlink("/cnb/lifecycle/launcher") for p in processes}
    for files, name in ((launcher, "launcher"), (config_layer, "config"), (process_types, "process-types")):
        layers.append(files)
        names.append(name)

    build_md = {
        "bom": None,  # kept on purpose; lifecycle 0.16.5 at Platform API >= 0.9 omits the key
        "buildpacks": buildpacks,
        "launcher": {"version": launcher_version,
                     "source": {"git": {"repository": "github.com/buildpacks/lifecycle", "commit": launcher_commit}}},
        "processes": processes,
        "buildpack-default-process-type": "web",
    }
    lifecycle_md = {
        "app": app_md,
        "sbom": {"sha": sbom_sha},
        "buildpacks": bp_md,
        "config": {"sha": diff_id(config_layer)},
        "launcher": {"sha": diff_id(launcher)},
        "process-types": {"sha": diff_id(process_types)},
        # runImage.image is what lifecycle >= 0.17 (Platform API 0.12) writes; kept on purpose
        "runImage": {"topLayer": run.top_layer, "reference": run.digest_ref, "image": f"{run.name}:{run.tag}"},
        "stack": {"runImage": {"image": f"index.docker.io/{run.name}:{run.tag}"}},
    }
    labels = dict(run.stack_labels)
    labels.update({
        "io.buildpacks.build.metadata": go_json(build_md),
        "io.buildpacks.lifecycle.metadata": go_json(lifecycle_md),
        "io.buildpacks.project.metadata": "{}",
        "org.opencontainers.image.revision": APP_REVISION,
        "org.opencontainers.image.title": "spring-petclinic",
        "org.opencontainers.image.version": "3.1.0-SNAPSHOT",
        "org.springframework.boot.version": "3.1.0",
    })
    labels = dict(sorted(labels.items()))
    config = {**platform_fields(arch), "created": CNB_CREATED, "config": {
        "User": run.built.image.config["config"]["User"],
        "Env": [f"PATH=/cnb/process:/cnb/lifecycle:{BASE_PATH}", "CNB_LAYERS_DIR=/layers", "CNB_APP_DIR=/workspace",
                "CNB_PLATFORM_API=0.11", "CNB_DEPRECATION_MODE=quiet"],
        "WorkingDir": "/workspace",
        "Entrypoint": ["/cnb/process/web"],
        "Labels": labels,
    }}
    return Image(layers, config, names), labels


# --------------------------------------------------------------------------------------------------
# Other app images
# --------------------------------------------------------------------------------------------------


def placeholder_layers_from_lifecycle_md(md: dict[str, Any]) -> tuple[list[Layer], list[str]]:
    """Placeholder layers for a real label whose layer contents we do not have (one per recorded layer)."""
    layers: list[Layer] = []
    names: list[str] = []
    for bp in md["buildpacks"]:
        for lname, lmd in sorted(bp["layers"].items()):
            d = bp_layer_dir(bp["key"], lname)
            layers.append({f"{d}/README.placeholder": f"placeholder for layer {lname} of {bp['key']} {bp['version']} "
                                                      f"(real diffID {lmd['sha']})\n"})
            names.append(f"{bp['key']}:{lname}")
    if "sbom" in md:
        layers.append({"/layers/sbom/launch/README.placeholder": f"placeholder (real diffID {md['sbom']['sha']})\n"})
        names.append("launch.sbom")
    app = md["app"] if isinstance(md["app"], list) else [md["app"]]
    for k, a in enumerate(app):
        layers.append({} if a["sha"] == EMPTY_TAR_DIFF_ID else
                      {f"/workspace/slice-{k + 1}.placeholder": f"placeholder for app slice {k + 1} (real diffID {a['sha']})\n"})
        names.append(f"app slice {k + 1}")
    for key, path in (("launcher", "/cnb/lifecycle/launcher"), ("config", "/layers/config/metadata.toml"),
                      ("process-types", "/cnb/process/README.placeholder")):
        if key in md:
            layers.append({path: f"placeholder (real diffID {md[key]['sha']})\n"})
            names.append(key)
    return layers, names


def petclinic_2021_image(inp: Inputs) -> Image:
    labels = inp.petclinic_labels  # verbatim
    md = json.loads(labels["io.buildpacks.lifecycle.metadata"])
    run_layers = [
        {"/etc/os-release": OS_RELEASE_BIONIC.replace("18.04.4", "18.04.6"),
         "/usr/lib/x86_64-linux-gnu/libc.so.6": exe("placeholder for the C library of the Paketo tiny run image\n")},
        {"/etc/ssl/certs/ca-certificates.crt": CA_BUNDLE, "/etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\n"
                                                                          "nonroot:x:1000:1000::/home/nonroot:/sbin/nologin\n"},
    ]
    layers, names = placeholder_layers_from_lifecycle_md(md)
    env = inp.petclinic_env
    config = {**platform_fields("amd64"), "created": CNB_CREATED, "config": {
        "User": env["User"], "Env": env["Env"], "WorkingDir": env["WorkingDir"], "Entrypoint": env["Entrypoint"],
        "Labels": dict(sorted(labels.items()))}}
    return Image(run_layers + layers, config, ["run: os", "run: packages+user"] + names)


def petclinic_2020_image(inp: Inputs, run: RunImage) -> tuple[Image, dict[str, str]]:
    """spring-petclinic 2.2.0 built 2020-06 with paketo-buildpacks/java (lifecycle 0.7.5, Platform API 0.3)."""
    group = inp.petclinic_2020_buildpacks  # verbatim [{id, version}]
    versions = {bp["id"]: bp["version"] for bp in group}
    liberica = versions["paketo-buildpacks/bellsoft-liberica"]
    jre = inp.dependency(f"paketo-buildpacks/bellsoft-liberica@{liberica} jre 11.0.7")
    assert jre["version"] in inp.liberica_jres[f"v{liberica}"]
    layers: list[Layer] = list(run.built.image.layers)
    names: list[str] = list(run.built.image.layer_names)
    bp_md = []
    for bp in group:
        bp_id, version = bp["id"], bp["version"]
        bp_layers: dict[str, Any] = {}
        if bp_id == "paketo-buildpacks/bellsoft-liberica":
            for lname, key in (("jre", "jre 11.0.7"), ("jvmkill", "jvmkill 1.16.0"), ("memory-calculator", "memory-calculator 4.0.0")):
                dep = inp.dependency(f"paketo-buildpacks/bellsoft-liberica@{version} {key}")
                d = bp_layer_dir(bp_id, lname)
                files = {f"{d}/{dep['uri'].rsplit('/', 1)[1]}.placeholder": f"placeholder for {dep['name']} {dep['version']}\n"}
                if lname == "jre":
                    files = {f"{d}/bin/java": exe("placeholder for the java launcher of BellSoft Liberica JRE 11.0.7\n"),
                             f"{d}/release": 'IMPLEMENTOR="BellSoft"\nJAVA_VERSION="11.0.7"\n',
                             f"{d}/env.launch/JAVA_HOME.override": d}
                layers.append(files)
                names.append(f"{bp_id}:{lname}")
                bp_layers[lname] = layer_md(diff_id(files), go_map(dep))  # flat dependency (libjvm < 1.20)
        elif bp_id == "paketo-buildpacks/executable-jar":
            d = bp_layer_dir(bp_id, "class-path")
            files = {f"{d}/env.launch/CLASSPATH": "/workspace"}
            layers.append(files)
            names.append(f"{bp_id}:class-path")
            bp_layers["class-path"] = layer_md(diff_id(files), {"classpath": ["/workspace"]})
        bp_md.append({"key": bp_id, "version": version, "layers": dict(sorted(bp_layers.items()))})
    app: Layer = {"/workspace/BOOT-INF/lib/spring-boot.jar": "placeholder for the Spring Boot 2.2 jar\n",
                  "/workspace/BOOT-INF/classes/application.properties": "spring.application.name=petclinic\n",
                  "/workspace/META-INF/MANIFEST.MF": "Manifest-Version: 1.0\r\nMain-Class: org.springframework.boot.loader.JarLauncher\r\n"
                                                    "Spring-Boot-Version: 2.2.7.RELEASE\r\n\r\n"}
    command = f'java -cp "${{CLASSPATH}}" ${{JAVA_OPTS}} {JAR_LAUNCHER}'  # executable-jar 1.2.7 executable/build.go
    processes = [{"type": t, "command": command, "args": None, "direct": False} for t in ("executable-jar", "task", "web")]
    launcher = {"/cnb/lifecycle/launcher": exe("placeholder for the CNB launcher 0.7.5 (lifecycle commit 3b41bc40, linux/amd64)\n")}
    config_layer = {"/layers/config/metadata.toml": metadata_toml([{"id": b["id"], "version": b["version"]} for b in group], processes, "web")}
    for files, name in ((app, "app"), (launcher, "launcher"), (config_layer, "config")):
        layers.append(files)
        names.append(name)
    bom = [{"name": "jre", "version": jre["version"],
            "metadata": go_map({**{k: jre[k] for k in ("name", "version", "uri", "sha256", "stacks", "licenses")}, "layer": "jre"}),
            "buildpack": {"id": "paketo-buildpacks/bellsoft-liberica", "version": liberica}}]
    build_md = {  # lifecycle 0.7.5 metadata.go BuildMetadata order: processes, buildpacks, bom, launcher
        "processes": processes,
        "buildpacks": [{"id": b["id"], "version": b["version"]} for b in group],
        "bom": bom,
        "launcher": {"version": "0.7.5", "source": {"git": {"repository": "github.com/buildpacks/lifecycle", "commit": "3b41bc40"}}},
    }
    lifecycle_md = {  # lifecycle 0.7.5 LayersMetadata order: app, config, launcher, buildpacks, runImage, stack
        "app": [{"sha": diff_id(app)}],
        "config": {"sha": diff_id(config_layer)},
        "launcher": {"sha": diff_id(launcher)},
        "buildpacks": bp_md,
        "runImage": {"topLayer": run.top_layer, "reference": run.image_id},
        "stack": {"runImage": {"image": f"index.docker.io/{run.name}:{run.tag}", "mirrors": [f"gcr.io/paketo-buildpacks/run:{run.tag}"]}},
    }
    labels = dict(run.stack_labels)
    labels.update({"io.buildpacks.build.metadata": go_json(build_md),
                   "io.buildpacks.lifecycle.metadata": go_json(lifecycle_md),
                   "io.buildpacks.project.metadata": "{}"})
    labels = dict(sorted(labels.items()))
    config = {**platform_fields("amd64"), "created": CNB_CREATED, "config": {
        "User": "1000:1000",
        "Env": [f"PATH={BASE_PATH}", "CNB_LAYERS_DIR=/layers", "CNB_APP_DIR=/workspace", "CNB_PROCESS_TYPE=web"],
        "Entrypoint": ["/cnb/lifecycle/launcher"], "Labels": labels}}
    return Image(layers, config, names), labels


def ancient_image(inp: Inputs, run: RunImage) -> tuple[Image, dict[str, str]]:
    """lifecycle 0.5-era shapes: app as one object, no processes, empty and v-prefixed versions."""
    if '\\"version\\":\\"\\"' not in inp.empty_version_fragment:
        raise SystemExit("empty-version fragment changed")
    node_bp = "io.buildpacks.samples.nodejs"  # key and empty version as in the lifecycle#85 fragment
    group = [(node_bp, ""), ("org.cloudfoundry.procfile", "v1.0.87")]
    d = bp_layer_dir(node_bp, "node_modules")
    nm: Layer = {f"{d}/README.placeholder": "placeholder for node_modules\n"}
    app: Layer = {"/workspace/package.json": '{"name":"node_app","version":"0.0.1"}\n', "/workspace/server.js": "// placeholder\n",
                  "/workspace/Procfile": "web: node server.js\n"}
    launcher = {"/cnb/lifecycle/launcher": exe("placeholder for the CNB launcher 0.5.0 (lifecycle commit f0a279f, linux/amd64)\n")}
    config_layer = {"/layers/config/metadata.toml": '[[processes]]\n  type = "web"\n  command = "node server.js"\n  direct = false\n'}
    layers = list(run.built.image.layers) + [nm, app, config_layer, launcher]
    names = list(run.built.image.layer_names) + [f"{node_bp}:node_modules", "app", "config", "launcher"]
    build_md = {"bom": None, "buildpacks": [{"id": i, "version": v} for i, v in group],
                "launcher": {"version": "0.5.0", "source": {"git": {"repository": "github.com/buildpack/lifecycle", "commit": "f0a279f"}}}}
    lifecycle_md = {
        "app": {"sha": diff_id(app)},  # a single object before lifecycle 0.6
        "config": {"sha": diff_id(config_layer)},
        "launcher": {"sha": diff_id(launcher)},
        "buildpacks": [{"key": node_bp, "version": "", "layers": {"node_modules": layer_md(diff_id(nm), {"lock_checksum": synthetic_sha256("package-lock.json")}, cache=True)}},
                       {"key": "org.cloudfoundry.procfile", "version": "v1.0.87", "layers": {}}],
        "runImage": {"topLayer": run.top_layer, "reference": run.image_id},
        "stack": {"runImage": {"image": "cloudfoundry/run:base-cnb", "mirrors": None}},
    }
    labels = dict(run.stack_labels)
    labels.update({"io.buildpacks.build.metadata": go_json(build_md), "io.buildpacks.lifecycle.metadata": go_json(lifecycle_md)})
    labels = dict(sorted(labels.items()))
    config = {**platform_fields("amd64"), "created": CNB_CREATED, "config": {
        "User": "1000:1000", "Env": [f"PATH={BASE_PATH}", "CNB_LAYERS_DIR=/layers", "CNB_APP_DIR=/workspace"],
        "Entrypoint": ["/cnb/lifecycle/launcher"], "Labels": labels}}
    return Image(layers, config, names), labels


def heroku_image() -> tuple[Image, dict[str, str]]:
    """A Ruby app built by a heroku/builder:22-era builder (synthesized)."""
    run_layers = [
        {"/etc/os-release": OS_RELEASE_JAMMY, "/usr/lib/x86_64-linux-gnu/libc.so.6": exe("placeholder for the C library of heroku/heroku:22-cnb\n")},
        passwd_layer("heroku", 1000, 1000),
    ]
    run_labels = {"io.buildpacks.stack.id": "heroku-22"}
    run = build(Image(run_layers, {**platform_fields("amd64"), "created": "2023-01-01T00:00:00Z",
                                    "config": {"User": "heroku", "Env": [f"PATH={BASE_PATH}"], "Labels": run_labels}}))
    ruby_dir, gems_dir = bp_layer_dir("heroku/ruby", "ruby"), bp_layer_dir("heroku/ruby", "gems")
    ruby: Layer = {f"{ruby_dir}/bin/ruby": exe("placeholder for ruby 3.1.3\n"), f"{ruby_dir}/env.launch/PATH.prepend": f"{ruby_dir}/bin"}
    gems: Layer = {f"{gems_dir}/gems/puma-6.0.2/README.placeholder": "placeholder for the puma gem\n",
                   f"{gems_dir}/env.launch/GEM_PATH.override": gems_dir}
    app: Layer = {"/workspace/Gemfile": 'source "https://rubygems.org"\ngem "puma"\ngem "sidekiq"\n',
                  "/workspace/Gemfile.lock": "GEM\n  specs:\n    puma (6.0.2)\n",
                  "/workspace/config.ru": "run ->(env) { [200, {}, [\"ok\"]] }\n",
                  "/workspace/Procfile": "web: bundle exec puma -C config/puma.rb\nworker: bundle exec sidekiq\n"}
    processes = [
        {"type": "web", "command": ["bash", "-c", "bundle exec puma -C config/puma.rb"], "args": [], "direct": True, "buildpackID": "heroku/procfile"},
        {"type": "worker", "command": ["bash", "-c", "bundle exec sidekiq"], "args": [], "direct": True, "buildpackID": "heroku/procfile"},
    ]
    launcher = {"/cnb/lifecycle/launcher": exe("placeholder for the CNB launcher 0.15.3 (lifecycle commit 98dfbd1c, linux/amd64)\n")}
    config_layer = {"/layers/config/metadata.toml": metadata_toml(
        [{"id": "heroku/ruby", "version": "2.0.0"}, {"id": "heroku/procfile", "version": "2.0.0"}], processes, "web")}
    process_types = {f"/cnb/process/{p['type']}": Symlink("/cnb/lifecycle/launcher") for p in processes}
    layers = run_layers + [ruby, gems, app, launcher, config_layer, process_types]
    names = ["run: os", "run: heroku user", "heroku/ruby:ruby", "heroku/ruby:gems", "app", "launcher", "config", "process-types"]
    build_md = {
        "bom": None,
        "buildpacks": [{"id": "heroku/ruby", "version": "2.0.0"}, {"id": "heroku/procfile", "version": "2.0.0"}],
        "launcher": {"version": "0.15.3", "source": {"git": {"repository": "github.com/buildpacks/lifecycle", "commit": "98dfbd1c"}}},
        "processes": processes,
        "buildpack-default-process-type": "web",
    }
    lifecycle_md = {
        "app": [{"sha": diff_id(app)}],
        "buildpacks": [
            {"key": "heroku/ruby", "version": "2.0.0", "layers": {
                "gems": layer_md(diff_id(gems), {"build_count": 3, "ruby_version": "3.1.3", "stack": "heroku-22"}, cache=True),
                "ruby": layer_md(diff_id(ruby), {"version": "3.1.3"}, build=True, cache=True)}},
            {"key": "heroku/procfile", "version": "2.0.0", "layers": {}},
        ],
        "config": {"sha": diff_id(config_layer)},
        "launcher": {"sha": diff_id(launcher)},
        "process-types": {"sha": diff_id(process_types)},
        "runImage": {"topLayer": run.layers[-1].diff_id, "reference": f"index.docker.io/heroku/heroku@{run.digest}"},
        "stack": {"runImage": {"image": "heroku/heroku:22-cnb"}},
    }
    labels = dict(run_labels)
    labels.update({"io.buildpacks.build.metadata": go_json(build_md), "io.buildpacks.lifecycle.metadata": go_json(lifecycle_md),
                   "io.buildpacks.project.metadata": "{}"})
    labels = dict(sorted(labels.items()))
    config = {**platform_fields("amd64"), "created": CNB_CREATED, "config": {
        "User": "heroku",
        "Env": [f"PATH=/cnb/process:/cnb/lifecycle:{BASE_PATH}", "CNB_LAYERS_DIR=/layers", "CNB_APP_DIR=/workspace",
                "CNB_PLATFORM_API=0.9", "CNB_DEPRECATION_MODE=quiet"],
        "WorkingDir": "/workspace", "Entrypoint": ["/cnb/process/web"], "Labels": labels}}
    return Image(layers, config, names), labels


def plain_images() -> dict[str, Image]:
    """repo2docker/jupyter-style images without any io.buildpacks label, and one with "Labels": null."""
    base = {"/etc/os-release": OS_RELEASE_JAMMY, "/usr/lib/x86_64-linux-gnu/libc.so.6": exe("placeholder for the C library of buildpack-deps:jammy\n")}
    user = passwd_layer("jovyan", 1000, 1000)

    def py(version: str) -> Layer:
        return {f"/srv/conda/envs/notebook/bin/python{version}": exe(f"placeholder for CPython {version}\n"),
                "/srv/conda/envs/notebook/bin/jupyter": exe("placeholder for jupyter\n")}

    def cfg(py_version: str, r2d: str) -> dict[str, Any]:
        return {**platform_fields("amd64"), "created": PLAIN_CREATED, "config": {
            "User": "1000",
            "ExposedPorts": {"8888/tcp": {}},
            "Env": ["PATH=/srv/conda/envs/notebook/bin:/srv/conda/bin:" + BASE_PATH, "NB_USER=jovyan", "NB_UID=1000",
                    f"PYTHON_VERSION={py_version}"],
            "Cmd": ["jupyter", "notebook"],
            "WorkingDir": "/home/jovyan",
            "Labels": {"repo2docker.ref": "abc123", "repo2docker.version": r2d}}}

    names = ["os", "user", "python"]
    return {
        "plain-a": Image([base, user, py("3.10")], cfg("3.10", "2022.10.0"), names),
        "plain-b": Image([base, user, py("3.11")], cfg("3.11", "2023.06.0"), names),
        "plain-null": Image([{"/bin/sh": exe("placeholder for a shell\n")}],
                            {**platform_fields("amd64"), "created": PLAIN_CREATED,
                             "config": {"Env": [f"PATH={BASE_PATH}"], "Cmd": ["/bin/sh"], "Labels": None}}, ["rootfs"]),
    }


# --------------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------------


def builder_2020_image(inp: Inputs) -> Image:
    c = inp.builder_2020_config
    order = json.loads(inp.builder_2020_labels["io.buildpacks.buildpack.order"])
    layers = [
        {"/etc/os-release": OS_RELEASE_BIONIC, "/usr/lib/x86_64-linux-gnu/libc.so.6": exe("placeholder for the C library of the bionic build image\n")},
        passwd_layer("cnb", 1000, 1000),
        {"/cnb/lifecycle/lifecycle.toml": '[api]\n  buildpack = "0.2"\n  platform = "0.3"\n\n[lifecycle]\n  version = "0.7.2"\n',
         "/cnb/lifecycle/lifecycle": exe("placeholder for the lifecycle 0.7.2 binaries\n")},
        {"/cnb/order.toml": "".join("[[order]]\n" + "".join(f'  [[order.group]]\n    id = "{g["id"]}"\n' for g in grp["group"])
                                    for grp in order),
         "/cnb/stack.toml": '[run-image]\n  image = "gcr.io/paketo-buildpacks/run:base-cnb"\n'},
    ]
    config = {"architecture": c["Architecture"], "os": c["Os"], "created": c["Created"], "config": {
        "User": c["Config"]["User"], "Env": c["Config"]["Env"], "Cmd": c["Config"]["Cmd"],
        "WorkingDir": c["Config"]["WorkingDir"], "Labels": dict(sorted(inp.builder_2020_labels.items()))}}
    return Image(layers, config, ["os", "cnb user", "lifecycle", "order+stack"])


def builder_2025_labels(inp: Inputs) -> dict[str, str]:
    text = inp.builder_2025_fragments
    dec = json.JSONDecoder()
    # complete buildpack entries of the builder.metadata chunks, in order of appearance, first occurrence
    buildpacks: list[dict[str, str]] = []
    seen = set()
    pos = 0
    while (pos := text.find('{"id":"', pos)) != -1:
        try:
            entry, end = dec.raw_decode(text, pos)
        except json.JSONDecodeError:
            pos += 1
            continue
        pos = end
        if isinstance(entry, dict) and set(entry) <= {"id", "name", "version", "homepage"} and "version" in entry:
            key = (entry["id"], entry["version"])
            if key not in seen:
                seen.add(key)
                buildpacks.append(entry)
    # complete entries of the io.buildpacks.buildpack.layers chunk (E)
    layers: dict[str, Any] = {}
    chunk_e = text[text.index("# chunk E"):]
    pos = 0
    while (pos := chunk_e.find('"paketo-buildpacks/', pos)) != -1:
        key_end = chunk_e.index('"', pos + 1)
        bp_id = chunk_e[pos + 1:key_end]
        if chunk_e[key_end + 1:key_end + 2] == ":":
            try:
                value, end = dec.raw_decode(chunk_e, key_end + 2)
                layers[bp_id] = value
                pos = end
                continue
            except json.JSONDecodeError:
                pass
        pos = key_end + 1
    if not buildpacks or not layers:
        raise SystemExit("could not read the 2025 builder fragments")
    versions = {bp["id"]: bp["version"] for bp in buildpacks}
    # the real builder-jammy-base order has one composite buildpack per group (builder.toml); only the
    # groups whose version the fragments show are kept (a subset of the real order)
    order = [{"group": [{"id": "paketo-buildpacks/java", "version": versions["paketo-buildpacks/java"]}]},
             {"group": [{"id": "paketo-buildpacks/procfile", "version": versions["paketo-buildpacks/procfile"]}]}]
    run = "index.docker.io/paketobuildpacks/run-jammy-base:latest"
    apis = {"buildpack": {"deprecated": [], "supported": ["0.7", "0.8", "0.9", "0.10", "0.11"]},
            "platform": {"deprecated": [], "supported": ["0.7", "0.8", "0.9", "0.10", "0.11", "0.12", "0.13", "0.14"]}}
    metadata = {  # pack internal/builder/metadata.go Metadata order
        "description": "Ubuntu 22.04 Jammy Jellyfish base image with buildpacks for Java, Go, .NET Core, Node.js, Python, "
                       "Apache HTTPD, NGINX and Procfile",
        "buildpacks": buildpacks,
        "extensions": None,
        "stack": {"runImage": {"image": run, "mirrors": None}},
        "lifecycle": {"version": "0.20.7", "api": {"buildpack": "0.2", "platform": "0.3"}, "apis": apis},
        "createdBy": {"name": "Pack CLI", "version": "0.37.0+git-0000000.build-0000"},
        "images": [{"image": run, "mirrors": None}],
    }
    stack = inp.jammy_stack
    return dict(sorted({
        "io.buildpacks.builder.metadata": go_json(metadata),
        "io.buildpacks.buildpack.layers": go_json({k: dict(sorted(layers[k].items())) for k in sorted(layers)}),
        "io.buildpacks.buildpack.order": go_json(order),
        **jammy_stack_labels(stack, "build"),
    }.items()))


def builder_2025_image(inp: Inputs) -> tuple[Image, dict[str, str]]:
    labels = builder_2025_labels(inp)
    md = json.loads(labels["io.buildpacks.builder.metadata"])
    layers: list[Layer] = [
        {"/etc/os-release": OS_RELEASE_JAMMY, "/usr/lib/x86_64-linux-gnu/libc.so.6": exe("placeholder for the C library of build-jammy-base\n")},
        passwd_layer("cnb", 1001, 1000),
        {"/cnb/lifecycle/lifecycle.toml": '[api]\n  buildpack = "0.2"\n  platform = "0.3"\n\n[lifecycle]\n  version = "0.20.7"\n',
         "/cnb/lifecycle/lifecycle": exe("placeholder for the lifecycle 0.20.7 binaries\n")},
        {f"/cnb/buildpacks/{esc(bp['id'])}/{bp['version']}/buildpack.toml":
            f'api = "0.7"\n\n[buildpack]\n  id = "{bp["id"]}"\n  version = "{bp["version"]}"\n' for bp in md["buildpacks"]},
        {"/cnb/order.toml": "# see label io.buildpacks.buildpack.order\n",
         "/cnb/run.toml": '[[images]]\n  image = "index.docker.io/paketobuildpacks/run-jammy-base:latest"\n'},
    ]
    config = {**platform_fields("amd64"), "created": CNB_CREATED, "config": {  # Config values from chunk A of the fragments
        "User": "1001:1000",
        "Env": [f"PATH={BASE_PATH}", "CNB_USER_ID=1001", "CNB_GROUP_ID=1000", "CNB_STACK_ID=io.buildpacks.stacks.jammy"],
        "Cmd": ["/bin/bash"], "WorkingDir": "/layers", "Labels": labels}}
    return Image(layers, config, ["os", "cnb user", "lifecycle", "buildpacks", "order+run"]), labels


# --------------------------------------------------------------------------------------------------
# Broken fixtures
# --------------------------------------------------------------------------------------------------


def broken_labels_image(good: Image) -> tuple[Image, dict[str, str]]:
    labels = dict(good.config["config"]["Labels"])
    build_md = labels["io.buildpacks.build.metadata"]
    marker = '}],"launcher"'
    assert build_md.count(marker) == 1
    labels["io.buildpacks.build.metadata"] = build_md.replace(marker, '},],"launcher"')  # trailing comma: invalid JSON
    md = json.loads(labels["io.buildpacks.lifecycle.metadata"])
    md["runImage"]["topLayer"] = 12345  # valid JSON, wrong type at runImage.topLayer
    labels["io.buildpacks.lifecycle.metadata"] = go_json(md)
    config = json.loads(json.dumps(good.config))
    config["config"]["Labels"] = labels
    return Image(good.layers, config, good.layer_names), labels


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------

SOURCE_HEADER = "synthesized by testdata/generate.py (not a real image's labels)"


def source_text(what: str, shape_of: str, notes: list[str]) -> bytes:
    lines = [f"{SOURCE_HEADER} after the shape of {shape_of}.", f"what: {what}"]
    lines += [f"note: {n}" for n in notes]
    return ("\n".join(lines) + "\n").encode()


PETCLINIC_SAMPLE = "labels/paketo-java-petclinic-tiny-platform-0.8-lifecycle-0.13.1.* (real 2021-12 Paketo Java label sample)"
JAVA_NOTES = [
    "real data used: buildpack ids/versions from java-composite-versions.csv (paketo-buildpacks/java {java}); buildpack info "
    "(helper / java-security-properties data), the JRE 17.0.7 amd64 dependency entry (uri, sha256, cpes, licenses) and the "
    "spring-cloud-bindings 1.13.0 entry from upstream-buildpack-toml-extracts.json; run image labels after jammy-base-stack.stack.toml; "
    "lifecycle 0.16.5 commit 7679c687 and label struct order from buildpacks/lifecycle v0.16.5.",
    "stack.runImage carries no mirrors: paketo-buildpacks/builder-jammy-base's builder.toml declares none for "
    "index.docker.io/paketobuildpacks/run-jammy-base:latest.",
    "layer `sha` values are the real diffIDs of this image's (placeholder) layers; runImage.topLayer/reference point at the "
    "`run-jammy-base` image of the same layout (or its computed per-arch digest).",
    "helper layer data is {buildpackInfo, helperNames} as libpak >= 1.62 writes it; java-security-properties data is the flat "
    "buildpack info (both carry the BUILDPACK version, not a Java version).",
    "deviations from what lifecycle 0.16.5 would really write, kept on purpose so that parsers meet this shape: \"bom\": null (0.16.5 omits the key "
    "at Platform API >= 0.9) and runImage.image (written from lifecycle 0.17 / Platform API 0.12 on).",
    "deviation from bellsoft-liberica's buildpack.toml: jre dependency stacks = [\"io.buildpacks.stacks.jammy\"] (real: "
    "[\"io.buildpacks.stacks.bionic\",\"io.paketo.stacks.tiny\",\"*\"]); deprecation_date is the libpak zero time.",
    "org.opencontainers.image.revision is a synthesized sha1; in a real build it would come from the image-labels buildpack, "
    "which would then also appear in the buildpack group.",
    "Spring Boot jars and classes are placeholders; JRE and helper binaries are placeholders; BPI_JVM_CLASS_COUNT is not set "
    "(the real count for Liberica 17.0.7 was never measured).",
]


# OS packages of the run image (Ubuntu 22.04 names and version strings), before and after a rebase: a security
# revision (libssl3/openssl), a tzdata update, one package added (libgnutls30), one removed (libtasn1-6); zlib1g keeps
# its epoch version. sbom-next moves libssl3/openssl once more.
JAMMY_PACKAGES_BEFORE = [("ca-certificates", "20230311ubuntu0.22.04.1"), ("libc6", "2.35-0ubuntu3.1"),
                         ("libssl3", "3.0.2-0ubuntu1.9"), ("libtasn1-6", "4.18.0-4build1"), ("openssl", "3.0.2-0ubuntu1.9"),
                         ("tzdata", "2023c-0ubuntu0.22.04.1"), ("zlib1g", "1:1.2.11.dfsg-2ubuntu9.2")]
JAMMY_PACKAGES_AFTER = [("ca-certificates", "20230311ubuntu0.22.04.1"), ("libc6", "2.35-0ubuntu3.1"),
                        ("libgnutls30", "3.7.3-4ubuntu1.2"), ("libssl3", "3.0.2-0ubuntu1.10"), ("openssl", "3.0.2-0ubuntu1.10"),
                        ("tzdata", "2023c-0ubuntu0.22.04.2"), ("zlib1g", "1:1.2.11.dfsg-2ubuntu9.2")]
JAMMY_PACKAGES_NEXT = [(n, {"libssl3": "3.0.2-0ubuntu1.12", "openssl": "3.0.2-0ubuntu1.12"}.get(n, v))
                       for n, v in JAMMY_PACKAGES_AFTER]
APP_LIBRARIES_BEFORE = [maven("org.springframework", "spring-core", "6.0.9"),
                        maven("org.springframework.boot", "spring-boot", "3.1.0"),
                        maven("org.apache.tomcat.embed", "tomcat-embed-core", "10.1.8"),
                        maven("org.yaml", "snakeyaml", "1.33")]
APP_LIBRARIES_AFTER = [maven("org.springframework", "spring-core", "6.0.10"),
                       maven("org.springframework.boot", "spring-boot", "3.1.1"),
                       maven("org.apache.tomcat.embed", "tomcat-embed-core", "10.1.10"),
                       maven("com.fasterxml.jackson.core", "jackson-core", "2.15.2")]


# --------------------------------------------------------------------------------------------------
# Runtime families: one app per family, recorded the way its real buildpack records the version
# --------------------------------------------------------------------------------------------------

OS_RELEASE_NOBLE = """PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
"""


@dataclasses.dataclass
class FamilyLayer:
    """A buildpack layer: its `data` in io.buildpacks.lifecycle.metadata, and its SBOM document (packit and go-build write
    one per layer under /layers/sbom/launch/<buildpack>/<layer>/sbom.<ext>.json)."""
    name: str
    data: Any
    files: Layer
    sbom: tuple[str, str] | None = None  # (ext, document text)


@dataclasses.dataclass
class FamilyApp:
    """An app image of one runtime family. `run` is (distro labels + stack id, user, os-release, run image name)."""
    what: str
    group: list[tuple[str, str]]  # (buildpack id, version), in order
    layers: dict[str, list[FamilyLayer]]  # buildpack id -> its launch layers
    run: tuple[dict[str, str], str, str, str]
    lifecycle: str = "0.20.7"
    platform_api: str = "0.13"
    process: tuple[str, list[str]] = ("web", ["/workspace/app"])
    rebasable: bool | None = True
    env: tuple[str, ...] = ()


def cdx_component_doc(name: str, version: str, purl: str) -> str:
    """packit's sbom.GenerateFromDependency output as CycloneDX (name = the dependency's display name, the purl from
    buildpack.toml): one library component."""
    return go_json({"bomFormat": "CycloneDX", "specVersion": "1.3", "version": 1,
                    "metadata": {"tools": [{"vendor": "anchore", "name": "syft", "version": "[not provided]"}]},
                    "components": [{"type": "library", "name": name, "version": version, "purl": purl}]})


def go_binary_syft_doc(go_version: str, default_godebug: str | None) -> str:
    """syft's scan of a Go binary (go-build's `targets` SBOM): the `stdlib` package (syft >= 0.93, version with the `go`
    prefix, purl without) and the main module with its build settings as a [{key, value}] array (syft >= 0.104);
    `DefaultGODEBUG` is there only when the go.mod go line keeps older defaults."""
    settings = [{"key": "-buildmode", "value": "pie"}, {"key": "-trimpath", "value": "true"},
                {"key": "CGO_ENABLED", "value": "1"}, {"key": "GOARCH", "value": "amd64"}, {"key": "GOOS", "value": "linux"},
                {"key": "GOAMD64", "value": "v1"}]
    if default_godebug is not None:
        settings.insert(3, {"key": "DefaultGODEBUG", "value": default_godebug})
    bare = go_version.removeprefix("go")
    return go_json({
        "artifacts": [
            {"id": uuid_of("stdlib " + go_version)[:16], "name": "stdlib", "version": go_version, "type": "go-module",
             "foundBy": "go-module-binary-cataloger", "locations": [{"path": "/layers/paketo-buildpacks_go-build/targets/bin/app"}],
             "licenses": [{"value": "BSD-3-Clause"}], "language": "go",
             "cpes": [{"cpe": f"cpe:2.3:a:golang:go:{bare}:-:*:*:*:*:*:*", "source": "syft-generated"}],
             "purl": f"pkg:golang/stdlib@{bare}", "metadataType": "go-module-buildinfo-entry",
             "metadata": {"goCompiledVersion": go_version, "architecture": "amd64"}},
            {"id": uuid_of("main " + go_version)[:16], "name": "example.com/ticker-service", "version": "(devel)",
             "type": "go-module", "foundBy": "go-module-binary-cataloger",
             "locations": [{"path": "/layers/paketo-buildpacks_go-build/targets/bin/app"}], "licenses": [], "language": "go",
             "cpes": [], "purl": "pkg:golang/example.com/ticker-service@(devel)", "metadataType": "go-module-buildinfo-entry",
             "metadata": {"goBuildSettings": settings, "goCompiledVersion": go_version, "architecture": "amd64",
                          "mainModule": "example.com/ticker-service"}},
        ],
        "source": {"type": "directory", "target": "/layers/paketo-buildpacks_go-build/targets/bin"},
        "distro": {},
        "descriptor": {"name": "syft", "version": "1.29.0"},
        "schema": {"version": "16.0.24", "url": "https://raw.githubusercontent.com/anchore/syft/main/schema/json/schema-16.0.24.json"},
    })


def family_run(stack_id: str, distro: str, version: str, os_release: str, user: tuple[str, int, int], name: str,
               base_labels: bool = False) -> tuple[dict[str, str], str, str, str]:
    prefix = "io.buildpacks.base.distro." if base_labels else "io.buildpacks.stack.distro."
    labels = {"io.buildpacks.stack.id": stack_id, prefix + "name": distro, prefix + "version": version}
    return labels, f"{user[1]}:{user[2]}", os_release, name


PAKETO_JAMMY = family_run("io.buildpacks.stacks.jammy", "ubuntu", "22.04", OS_RELEASE_JAMMY, ("cnb", 1002, 1000),
                          "paketobuildpacks/run-jammy-base:latest")
PAKETO_NOBLE = family_run("io.buildpacks.stacks.noble", "ubuntu", "24.04", OS_RELEASE_NOBLE, ("cnb", 1002, 1001),
                          "docker.io/paketobuildpacks/ubuntu-noble-run:latest")
HEROKU_24 = family_run("heroku-24", "ubuntu", "24.04", OS_RELEASE_NOBLE, ("heroku", 1000, 1000), "docker.io/heroku/heroku:24",
                       base_labels=True)
GOOGLE_24 = family_run("google.24", "Ubuntu", "24.04", OS_RELEASE_NOBLE, ("www-data", 33, 33), "gcr.io/buildpacks/google-24/run")


def family_image(app: FamilyApp) -> tuple[Image, dict[str, str]]:
    """An app image of a runtime family: run image layers (os-release, user), the buildpacks' launch layers, the launch
    SBOM layer holding each layer's SBOM, the app, launcher, config and process-types layers; labels as lifecycle 0.20
    writes them (Platform API 0.13)."""
    run_labels, user, os_release, run_name = app.run
    uname, ids = user.split(":")[0], user.split(":")
    run_layers: list[Layer] = [{"/etc/os-release": os_release,
                                "/usr/lib/x86_64-linux-gnu/libc.so.6": exe(f"placeholder for the C library of {run_name}\n")},
                               passwd_layer("app" if uname.isdigit() else uname, int(ids[0]), int(ids[1]))]
    run = build(Image(run_layers, {**platform_fields("amd64"), "created": "2026-11-01T00:00:00Z",
                                   "config": {"User": user, "Env": [f"PATH={BASE_PATH}"], "Labels": run_labels}}))
    bp_layers: list[Layer] = []
    names = ["run: os", "run: user"]
    buildpacks_md = []
    sbom_files: Layer = {}
    for bp_id, version in app.group:
        layers_md = {}
        for fl in app.layers.get(bp_id, []):
            files = dict(fl.files) or {f"{bp_layer_dir(bp_id, fl.name)}/README": f"placeholder for layer {fl.name} of {bp_id}\n"}
            bp_layers.append(files)
            names.append(f"{bp_id}:{fl.name}")
            layers_md[fl.name] = layer_md(diff_id(files), fl.data, launch=True)
            if fl.sbom is not None:
                ext, doc = fl.sbom
                sbom_files[f"/layers/sbom/launch/{esc(bp_id)}/{fl.name}/sbom.{ext}.json"] = doc
        buildpacks_md.append({"key": bp_id, "version": version, "layers": layers_md, "store": {"metadata": {}}})
    # The app's own code is the same on both sides of every family pair: nobody changed it.
    app_layer: Layer = {"/workspace/app": exe(f"placeholder for the {app.what.split(' (')[0]}\n")}
    launcher = {"/cnb/lifecycle/launcher": exe(f"placeholder for the CNB launcher {app.lifecycle} (linux/amd64)\n")}
    ptype, cmd = app.process
    processes = [{"type": ptype, "command": cmd, "args": [], "direct": True, "buildpackID": app.group[-1][0]}]
    config_layer = {"/layers/config/metadata.toml": metadata_toml(
        [{"id": i, "version": v} for i, v in app.group], processes, ptype)}
    process_types = {f"/cnb/process/{ptype}": Symlink("/cnb/lifecycle/launcher")}
    layers = run_layers + bp_layers
    names += []
    sbom_layer = None
    if sbom_files:
        sbom_layer = sbom_files
        layers.append(sbom_layer)
        names.append("launch.sbom")
    layers += [app_layer, launcher, config_layer, process_types]
    names += ["app", "launcher", "config", "process-types"]
    build_md = {
        "buildpacks": [{"id": i, "version": v} for i, v in app.group],
        "launcher": {"version": app.lifecycle, "source": {"git": {"repository": "github.com/buildpacks/lifecycle"}}},
        "processes": processes,
        "buildpack-default-process-type": ptype,
    }
    lifecycle_md: dict[str, Any] = {
        "app": [{"sha": diff_id(app_layer)}],
        "buildpacks": buildpacks_md,
        "config": {"sha": diff_id(config_layer)},
        "launcher": {"sha": diff_id(launcher)},
        "process-types": {"sha": diff_id(process_types)},
        "runImage": {"topLayer": run.layers[-1].diff_id, "reference": f"{run_name.rsplit(':', 1)[0]}@{run.digest}",
                     "image": run_name},
        "stack": {"runImage": {"image": run_name}},
    }
    if sbom_layer is not None:
        lifecycle_md["sbom"] = {"sha": diff_id(sbom_layer)}
    labels = dict(run_labels)
    labels.update({"io.buildpacks.build.metadata": go_json(build_md), "io.buildpacks.lifecycle.metadata": go_json(lifecycle_md),
                   "io.buildpacks.project.metadata": "{}"})
    if app.rebasable is not None:
        labels["io.buildpacks.rebasable"] = "true" if app.rebasable else "false"
    labels = dict(sorted(labels.items()))
    config = {**platform_fields("amd64"), "created": CNB_CREATED, "config": {
        "User": user,
        "Env": [f"PATH=/cnb/process:/cnb/lifecycle:{BASE_PATH}", "CNB_LAYERS_DIR=/layers", "CNB_APP_DIR=/workspace",
                f"CNB_PLATFORM_API={app.platform_api}", "CNB_DEPRECATION_MODE=quiet", *app.env],
        "WorkingDir": "/workspace", "Entrypoint": [f"/cnb/process/{ptype}"], "Labels": labels}}
    return Image(layers, config, names), labels


def node_app(node: str, engine: str = "4.1.0", run: tuple[dict[str, str], str, str, str] = PAKETO_JAMMY,
             lifecycle: str = "0.20.7") -> FamilyApp:
    """Paketo node-engine (packit): layer `node` holds only `dependency-sha`; the version is in its SBOM, named
    `Node Engine`, purl with a `v` (node-engine build.go / constants.go at bbb47a79)."""
    purl = (f"pkg:generic/node@v{node}?checksum={synthetic_sha256('node ' + node)}"
            f"&download_url=https://nodejs.org/dist/v{node}/node-v{node}-linux-x64.tar.xz")
    return FamilyApp(
        f"Node.js app (node {node})",
        [("paketo-buildpacks/ca-certificates", "3.8.6"), ("paketo-buildpacks/node-engine", engine),
         ("paketo-buildpacks/npm-install", "1.6.2"), ("paketo-buildpacks/node-start", "1.2.2")],
        {"paketo-buildpacks/node-engine": [FamilyLayer(
            "node", {"dependency-sha": "sha256:" + synthetic_sha256("node artifact " + node)},
            {"/layers/paketo-buildpacks_node-engine/node/bin/node": exe(f"placeholder for node v{node}\n")},
            ("cdx", cdx_component_doc("Node Engine", node, purl)))]},
        run, lifecycle=lifecycle, process=("web", ["node", "server.js"]))


def go_app(go: str, default_godebug: str | None, go_build: str = "2.2.40") -> FamilyApp:
    """Paketo go-build: the toolchain layer is build-only; the `targets` launch layer has no metadata, its SBOM is syft's
    scan of the built binary (go-build build.go at b414ef1e)."""
    return FamilyApp(
        f"Go ticker service (built with {go})",
        [("paketo-buildpacks/go-dist", "2.7.8"), ("paketo-buildpacks/go-mod-vendor", "1.0.56"),
         ("paketo-buildpacks/go-build", go_build)],
        {"paketo-buildpacks/go-build": [FamilyLayer(
            "targets", None,
            {"/layers/paketo-buildpacks_go-build/targets/bin/app": exe(f"placeholder for a Go binary built with {go}\n")},
            ("syft", go_binary_syft_doc(go, default_godebug)))]},
        PAKETO_JAMMY, process=("web", ["/layers/paketo-buildpacks_go-build/targets/bin/app"]))


def heroku_python_app(python: str) -> FamilyApp:
    """heroku/python (libcnb.rs): typed metadata of layer `python` (python.rs at f81d0dc1), no SBOM."""
    return FamilyApp(
        f"Python app (CPython {python})",
        [("heroku/python", "0.19.0"), ("heroku/procfile", "4.0.0")],
        {"heroku/python": [FamilyLayer("python", {"arch": "amd64", "distro_name": "ubuntu", "distro_version": "24.04",
                                                  "python_version": python}, {})]},
        HEROKU_24, platform_api="0.12", process=("web", ["gunicorn", "app:app"]))


def dotnet_app(aspnet: str) -> FamilyApp:
    """Paketo dotnet-core-aspnet-runtime (packit): `dependency-checksum` only; SBOM `ASP.NET Core Runtime`
    (build.go at 0d7f66a8)."""
    purl = f"pkg:generic/dotnet-core-aspnet-runtime@{aspnet}?checksum={synthetic_sha256('aspnet ' + aspnet)}"
    return FamilyApp(
        f".NET app (ASP.NET Core {aspnet})",
        [("paketo-buildpacks/ca-certificates", "3.8.6"), ("paketo-buildpacks/dotnet-core-aspnet-runtime", "1.6.37"),
         ("paketo-buildpacks/dotnet-execute", "1.0.12")],
        {"paketo-buildpacks/dotnet-core-aspnet-runtime": [FamilyLayer(
            "dotnet-core-aspnet-runtime", {"dependency-checksum": "sha512:" + synthetic_sha256("aspnet artifact " + aspnet)},
            {}, ("cdx", cdx_component_doc("ASP.NET Core Runtime", aspnet, purl)))]},
        PAKETO_JAMMY, process=("web", ["dotnet", "app.dll"]))


def ruby_app(ruby: str) -> FamilyApp:
    """Paketo mri (packit): `dependency-sha` only; SBOM `Ruby` (mri at beab37b5)."""
    purl = f"pkg:generic/ruby@{ruby}?checksum={synthetic_sha256('ruby ' + ruby)}"
    return FamilyApp(
        f"Ruby app (ruby {ruby})",
        [("paketo-buildpacks/mri", "0.17.3"), ("paketo-buildpacks/bundler", "0.11.4"), ("paketo-buildpacks/puma", "0.5.3")],
        {"paketo-buildpacks/mri": [FamilyLayer(
            "mri", {"dependency-sha": "sha256:" + synthetic_sha256("ruby artifact " + ruby)}, {},
            ("cdx", cdx_component_doc("Ruby", ruby, purl)))]},
        PAKETO_JAMMY, process=("web", ["bundle", "exec", "puma"]))


def google_php_app(php: str) -> FamilyApp:
    """google.php.runtime: `runtime.InstallTarballIfNotCached` writes a flat `version` and `stack` (install.go at 21f28de8)."""
    return FamilyApp(
        f"PHP app (php {php})",
        [("google.php.runtime", "0.9.1"), ("google.php.composer", "0.9.1"), ("google.utils.nginx", "0.9.1")],
        {"google.php.runtime": [FamilyLayer("php", {"stack": "google.24", "version": php}, {})]},
        GOOGLE_24, rebasable=None, platform_api="0.12", process=("web", ["/layers/google.utils.nginx/nginx/bin/start"]))


def nginx_app(nginx: str) -> FamilyApp:
    """Paketo nginx (packit): SBOM `Nginx Server` (nginx at f84ad371)."""
    purl = f"pkg:generic/nginx@{nginx}?checksum={synthetic_sha256('nginx ' + nginx)}"
    return FamilyApp(
        f"static site (nginx {nginx})",
        [("paketo-buildpacks/nginx", "1.0.11")],
        {"paketo-buildpacks/nginx": [FamilyLayer(
            "nginx", {"dependency-sha": "sha256:" + synthetic_sha256("nginx artifact " + nginx)}, {},
            ("cdx", cdx_component_doc("Nginx Server", nginx, purl)))]},
        PAKETO_JAMMY, process=("web", ["nginx", "-p", "/workspace", "-c", "/workspace/nginx.conf"]))


def heroku_java_app(jdk: str) -> FamilyApp:
    """heroku/jvm: layer `openjdk` records only the JDK's download URL (openjdk.rs at 87d898ca)."""
    url = f"https://heroku-buildpacks-jvm.s3.dualstack.us-east-1.amazonaws.com/openjdk/zulu/amd64/{jdk}.tar.gz"
    return FamilyApp(
        f"Java app (OpenJDK {jdk})",
        [("heroku/jvm", "7.0.14"), ("heroku/maven", "7.0.14"), ("heroku/java", "7.0.14")],
        {"heroku/jvm": [FamilyLayer("openjdk", {"jdk_overlay_applied": False, "source_tarball_url": url}, {})]},
        HEROKU_24, platform_api="0.12", process=("web", ["java", "-jar", "target/app.jar"]))


FAMILY_TAGS: list[tuple[str, FamilyApp, str]] = [
    # (tag, app, what the pair shows)
    ("node-20", node_app("20.18.1"), "Node 20 before its move"),
    ("node-22", node_app("22.11.0"), "the same node-engine buildpack version, Node 22 (crosses 22.0.0)"),
    ("node-22-next", node_app("22.12.0"), "a neighbour on the same side of 22.0.0"),
    ("go-1.22", go_app("go1.22.12", None), "Go 1.22 toolchain, go line 1.22"),
    ("go-1.23", go_app("go1.23.4", None), "Go 1.23 toolchain, go line 1.23 (no DefaultGODEBUG: the new timers apply)"),
    ("go-1.23-next", go_app("go1.23.6", None), "a neighbour on the same side of 1.23.0"),
    ("go-1.23-oldline", go_app("go1.23.4", "asynctimerchan=1,tls10server=1,tlsrsakex=1,tlsunsafeekm=1,winreadlinkvolume=0,"
                                           "winsymlink=0,x509keypairleaf=0"),
     "Go 1.23 toolchain, go line 1.22 (DefaultGODEBUG keeps the old timers)"),
    ("python-3.12", heroku_python_app("3.12.8"), "CPython 3.12 by heroku/python"),
    ("python-3.13", heroku_python_app("3.13.1"), "CPython 3.13 (crosses 3.13.0)"),
    ("python-3.13-next", heroku_python_app("3.13.2"), "a neighbour"),
    ("dotnet-8", dotnet_app("8.0.11"), "ASP.NET Core 8"),
    ("dotnet-9", dotnet_app("9.0.0"), "ASP.NET Core 9 (crosses 9.0.0)"),
    ("dotnet-9-next", dotnet_app("9.0.1"), "a neighbour"),
    ("ruby-3.3", ruby_app("3.3.6"), "Ruby 3.3"),
    ("ruby-3.4", ruby_app("3.4.1"), "Ruby 3.4 (crosses 3.4.0)"),
    ("ruby-3.4-next", ruby_app("3.4.2"), "a neighbour"),
    ("php-8.3", google_php_app("8.3.14"), "PHP 8.3 by Google's buildpacks"),
    ("php-8.4", google_php_app("8.4.1"), "PHP 8.4 (crosses 8.4.0)"),
    ("php-8.4-next", google_php_app("8.4.2"), "a neighbour"),
    ("nginx-1.27.2", nginx_app("1.27.2"), "nginx 1.27.2"),
    ("nginx-1.27.3", nginx_app("1.27.3"), "nginx 1.27.3 (crosses 1.27.3)"),
    ("nginx-1.27.4", nginx_app("1.27.4"), "a neighbour"),
    ("java-17.0.4", heroku_java_app("17.0.4"), "OpenJDK 17.0.4 by heroku/jvm"),
    ("java-17.0.5", heroku_java_app("17.0.5"), "OpenJDK 17.0.5 (crosses 17.0.5)"),
    ("java-17.0.6", heroku_java_app("17.0.6"), "a neighbour"),
    ("node-22-noble", node_app("22.11.0", run=PAKETO_NOBLE), "node-22 rebuilt on the noble run image (jammy → noble)"),
    ("node-22-noble-next", node_app("22.11.0", run=PAKETO_NOBLE, lifecycle="0.20.8"), "a neighbour on noble"),
    ("node-22-lifecycle-0.14", node_app("22.11.0", lifecycle="0.14.3"), "lifecycle 0.14.3"),
    ("node-22-lifecycle-0.15", node_app("22.11.0", lifecycle="0.15.0"), "lifecycle 0.15.0 (in the 0.15.0 bug window)"),
    ("node-22-lifecycle-0.15.2", node_app("22.11.0", lifecycle="0.15.2"), "lifecycle 0.15.2 (past the window)"),
]


# --------------------------------------------------------------------------------------------------
# Label shapes of other image kinds: lifecycle images, build images, buildpackages
# --------------------------------------------------------------------------------------------------

def api_list(lo: int, hi: int) -> list[str]:
    return [f"0.{n}" for n in range(lo, hi + 1)]


def lifecycle_image(version: str, buildpack: tuple[int, int], platform: tuple[int, int]) -> tuple[Image, dict[str, str]]:
    """buildpacksio/lifecycle: its version and the APIs it supports as labels (lifecycle's Dockerfile and
    api/apis.go), plus the legacy builder-metadata subset pack reads. 0.18.0 dropped Platform API 0.3-0.6 and Buildpack
    API 0.2-0.6 (lifecycle release notes, cited by the lifecycle rule family)."""
    apis = {"buildpack": {"deprecated": [], "supported": api_list(*buildpack)},
            "platform": {"deprecated": [], "supported": api_list(*platform)}}
    labels = {"io.buildpacks.builder.metadata": go_json({"lifecycle": {"version": version}}),
              "io.buildpacks.lifecycle.apis": go_json(apis),
              "io.buildpacks.lifecycle.version": version}
    layers: list[Layer] = [{f"/cnb/lifecycle/{tool}": exe(f"placeholder for the {tool} of lifecycle {version}\n")
                            for tool in ("analyzer", "builder", "creator", "detector", "exporter", "launcher", "restorer")}]
    config = {**platform_fields("amd64"), "created": "2024-01-01T00:00:00Z",
              "config": {"User": "1000:1000", "WorkingDir": "/layers", "Labels": labels}}
    return Image(layers, config, ["lifecycle binaries"]), labels


def build_image(stack_id: str, version: str, os_release: str, uid: int, gid: int) -> tuple[Image, dict[str, str]]:
    """A Paketo build image (jammy-base-stack / ubuntu-noble-base-images metadata tests): stack labels like the run
    image's, and CNB_USER_ID / CNB_GROUP_ID in the env, which the platform spec requires of build images only."""
    labels = {"io.buildpacks.stack.description": "ubuntu with compilers and shell utilities",
              "io.buildpacks.stack.distro.name": "ubuntu", "io.buildpacks.stack.distro.version": version,
              "io.buildpacks.stack.homepage": "https://github.com/paketo-buildpacks", "io.buildpacks.stack.id": stack_id,
              "io.buildpacks.stack.maintainer": "Paketo Buildpacks", "io.buildpacks.stack.metadata": "{}"}
    layers = [{"/etc/os-release": os_release, "/usr/bin/gcc": exe("placeholder for gcc\n")}, passwd_layer("cnb", uid, gid)]
    config = {**platform_fields("amd64"), "created": "2025-01-01T00:00:00Z", "config": {
        "User": f"{uid}:{gid}", "Env": [f"PATH={BASE_PATH}", f"CNB_USER_ID={uid}", f"CNB_GROUP_ID={gid}",
                                         f"CNB_STACK_ID={stack_id}"], "Labels": labels}}
    return Image(layers, config, ["build: os", "build: cnb user"]), labels


def buildpackage_image(inp: Inputs, universe: str, world: str) -> tuple[Image, dict[str, str]]:
    """The real `example/hello-universe` buildpackage labels (buildpackage-hello-universe.config-labels.json) with the
    versions moved: hello-universe and the hello-world it carries."""
    real = read_json("buildpackage-hello-universe.config-labels.json")
    top = json.loads(real["io.buildpacks.buildpackage.metadata"])
    top["version"] = universe
    layers_label = json.loads(real["io.buildpacks.buildpack.layers"])
    hello = layers_label.pop("example/hello-world")
    layers_label["example/hello-world"] = {world: next(iter(hello.values()))}
    uni = layers_label.pop("example/hello-universe")
    uni_entry = next(iter(uni.values()))
    uni_entry["order"] = [{"group": [{"id": "example/hello-world", "version": world},
                                     {"id": "example/hello-moon", "version": "0.0.3"}]}]
    layers_label["example/hello-universe"] = {universe: uni_entry}
    files: list[Layer] = []
    for bp_id, versions in sorted(layers_label.items()):
        for v, entry in versions.items():
            layer: Layer = {f"/cnb/buildpacks/{esc(bp_id)}/{v}/buildpack.toml": f'api = "0.2"\n[buildpack]\nid = "{bp_id}"\nversion = "{v}"\n'}
            files.append(layer)
            entry["layerDiffID"] = diff_id(layer)
    labels = {"io.buildpacks.buildpackage.metadata": go_json(top),
              "io.buildpacks.buildpack.layers": go_json(go_map(layers_label))}
    config = {**platform_fields("amd64"), "created": "1980-01-01T00:00:01Z", "config": {"Labels": labels}}
    return Image(files, config, [f"buildpack {i}" for i in range(len(files))]), labels


def relabelled_image(good: Image) -> tuple[Image, dict[str, str]]:
    """incident-good with io.buildpacks.lifecycle.metadata written again with the same meaning (indented, keys in
    another order): same layers, only a label's bytes differ."""
    config = json.loads(json.dumps(good.config))
    labels = config["config"]["Labels"]
    md = json.loads(labels["io.buildpacks.lifecycle.metadata"])
    labels["io.buildpacks.lifecycle.metadata"] = json.dumps(md, indent=1, sort_keys=True)
    return Image(good.layers, config, good.layer_names), labels


def bionic_packages(ssl: str, tz: str) -> list[dict[str, Any]]:
    """io.paketo.stack.packages entries after paketo-buildpacks/stacks' jam output (name, version, arch, source, summary)."""
    def p(name: str, version: str, src: str, upstream: str, summary: str) -> dict[str, Any]:
        return {"name": name, "version": version, "arch": "amd64",
                "source": {"name": src, "version": version, "upstreamVersion": upstream}, "summary": summary}
    return [p("ca-certificates", "20211016ubuntu0.18.04.1", "ca-certificates", "20211016", "Common CA certificates"),
            p("libssl1.1", ssl, "openssl", "1.1.1", "Secure Sockets Layer toolkit - shared libraries"),
            p("tzdata", tz, "tzdata", tz.split("-")[0], "time zone and daylight-saving time data"),
            p("zlib1g", "1:1.2.11.dfsg-0ubuntu2.2", "zlib", "1.2.11.dfsg", "compression library - runtime")]


BIONIC_PACKAGES_BEFORE = bionic_packages("1.1.1-1ubuntu2.1~18.04.21", "2022g-0ubuntu0.18.04")
BIONIC_PACKAGES_AFTER = bionic_packages("1.1.1-1ubuntu2.1~18.04.22", "2023c-0ubuntu0.18.04")


def generate(out: Path) -> dict[str, Any]:
    inp = Inputs()
    files: dict[str, bytes] = {}  # relative to testdata/
    synth: dict[str, tuple[dict[str, str] | None, bytes]] = {}  # name -> (labels, .source text)

    run_amd64 = jammy_run_image(inp, "amd64")
    runs = {"amd64": run_amd64, "arm64": jammy_run_image(inp, "arm64"), "arm": jammy_run_image(inp, "arm")}
    bionic = bionic_run_image()

    def java(java_version: str, arch: str = "amd64", jre: str = "17.0.7") -> tuple[Built, dict[str, str]]:
        image, labels = paketo_java_image(inp, JavaApp(java_version, arch, jre), runs[arch])
        return build(image), labels

    def variant(app: JavaApp, run: RunImage = run_amd64) -> tuple[Built, dict[str, str]]:
        image, labels = paketo_java_image(inp, app, run)
        return build(image), labels

    def jvm(java_version: str, spring_boot: str | None, threads: str, big_jar_classes: int = 0) -> tuple[Built, dict[str, str]]:
        app = JavaApp(java_version, spring_boot=spring_boot, thread_count=threads, jvm_class_count="24000",
                      memcalc_app=True, big_jar_classes=big_jar_classes)
        image, labels = paketo_java_image(inp, app, run_amd64)
        return build(image), labels

    good, good_labels = java("9.9.0")
    bad, bad_labels = java("9.10.0")
    good_arm64, good_arm64_labels = java("9.9.0", "arm64")
    good_arm, good_arm_labels = java("9.9.0", "arm", "17.0.6")
    bad_arm64, bad_arm64_labels = java("9.10.0", "arm64")
    broken_image, broken_labels = broken_labels_image(good.image)
    p2020_image, p2020_labels = petclinic_2020_image(inp, bionic)
    ancient_img, ancient_labels = ancient_image(inp, bionic)
    heroku_img, heroku_labels = heroku_image()
    b2025_image, b2025_labels = builder_2025_image(inp)
    plain = plain_images()
    jvm50, jvm50_labels = jvm("9.9.0", "5.23.0", "50")
    jvm250, jvm250_labels = jvm("9.9.0", "5.24.0", "250")
    jvm_inc, jvm_inc_labels = jvm("9.10.0", None, "250", big_jar_classes=28635)  # java 9.10.0 = spring-boot 5.25.2
    expected = {tag: expected_memory(b) for tag, b in (("jvm-threads-50", jvm50), ("jvm-threads-250", jvm250),
                                                       ("jvm-incident", jvm_inc))}
    # the counts above are re-read from the generated layers; these are the values the README promises
    assert expected["jvm-threads-50"] == {"app_classes": 1195, "jvm_classes": 24000, "thread_count": 50}, expected
    assert expected["jvm-threads-250"] == {"app_classes": 1195, "jvm_classes": 24000, "thread_count": 250}, expected
    assert expected["jvm-incident"] == {"app_classes": 29830, "jvm_classes": 24000, "thread_count": 250}, expected
    assert int((24000 + 29830) * 0.35) == 18840

    # attribution fixtures: incident-good with exactly one thing moved
    app_change, app_change_labels = variant(JavaApp("9.9.0", app_change=True))
    run_patched = jammy_run_image(inp, "amd64", patched=True)
    rebased, rebased_labels = variant(JavaApp("9.9.0"), run_patched)
    jre_rebuilt, jre_rebuilt_labels = variant(JavaApp("9.9.0", jre_rebuild=True))

    # package fixtures: SBOM layers with real-format documents, and the legacy packages label
    sbom_run_before = jammy_run_image(inp, "amd64", os_packages=JAMMY_PACKAGES_BEFORE)
    sbom_run_after = jammy_run_image(inp, "amd64", patched=True, os_packages=JAMMY_PACKAGES_AFTER)
    sbom_run_next = jammy_run_image(inp, "amd64", patched=True, os_packages=JAMMY_PACKAGES_NEXT)
    sbom_before, sbom_before_labels = variant(JavaApp("9.10.0", jre_version="17.0.6", app_libraries=APP_LIBRARIES_BEFORE),
                                              sbom_run_before)
    sbom_after, sbom_after_labels = variant(JavaApp("9.10.0", app_libraries=APP_LIBRARIES_AFTER), sbom_run_after)
    sbom_next, _ = variant(JavaApp("9.10.0", app_libraries=APP_LIBRARIES_AFTER), sbom_run_next)
    legacy_before = bionic_run_image(BIONIC_PACKAGES_BEFORE)
    legacy_after = bionic_run_image(BIONIC_PACKAGES_AFTER)

    tags: list[tuple[str, Tagged]] = [
        ("incident-good", good),
        ("app-change", app_change),
        ("rebased", rebased),
        ("jre-rebuilt", jre_rebuilt),
        ("incident-bad", bad),
        ("petclinic-2021-12", build(petclinic_2021_image(inp))),
        ("petclinic-2020-06", build(p2020_image)),
        ("ancient", build(ancient_img)),
        ("heroku", build(heroku_img)),
        ("plain-a", build(plain["plain-a"])),
        ("plain-b", build(plain["plain-b"])),
        ("plain-null", build(plain["plain-null"])),
        ("multiarch", build_index([good, good_arm64, good_arm])),
        ("multiarch-next", build_index([bad, bad_arm64])),
        ("builder-2020", build(builder_2020_image(inp))),
        ("builder-2025", build(b2025_image)),
        ("broken-labels", build(broken_image)),
        ("run-jammy-base", run_amd64.built),
        ("jvm-threads-50", jvm50),
        ("jvm-threads-250", jvm250),
        ("jvm-incident", jvm_inc),
        ("sbom-before", sbom_before),
        ("sbom-after", sbom_after),
        ("sbom-next", sbom_next),
        ("run-bionic-packages-a", legacy_before.built),
        ("run-bionic-packages-b", legacy_after.built),
    ]
    other_kinds: list[tuple[str, tuple[Image, dict[str, str]], str]] = [
        ("lifecycle-0.17.8", lifecycle_image("0.17.8", (2, 10), (3, 12)), "a lifecycle image (buildpacksio/lifecycle 0.17.8)"),
        ("lifecycle-0.18.0", lifecycle_image("0.18.0", (7, 10), (7, 12)), "a lifecycle image (0.18.0: Platform API 0.3-0.6 and "
                                                                           "Buildpack API 0.2-0.6 dropped)"),
        ("build-jammy-base", build_image("io.buildpacks.stacks.jammy", "22.04", OS_RELEASE_JAMMY, 1001, 1000),
         "a Paketo jammy build image"),
        ("build-noble-base", build_image("io.buildpacks.stacks.noble", "24.04", OS_RELEASE_NOBLE, 1001, 1001),
         "a Paketo noble build image"),
        ("buildpackage-hello-0.0.1", buildpackage_image(inp, "0.0.1", "0.0.2"), "the hello-universe buildpackage"),
        ("buildpackage-hello-0.0.2", buildpackage_image(inp, "0.0.2", "0.0.3"), "the next hello-universe buildpackage"),
        ("incident-good-relabelled", relabelled_image(good.image), "incident-good with its lifecycle label re-serialized"),
    ]
    for tag, (img_, labels_), what in other_kinds:
        tags.append((tag, build(img_)))
        synth[tag] = (labels_, source_text(f"labels of tag {tag}: {what}",
                                           "the labels research report (labels/REPORT.md) and the sources in the function that "
                                           "makes it (testdata/generate.py)",
                                           ["synthesized; every label shape is one real images carry."]))
    # A single-platform arm64 image: the arm64 manifest of `multiarch`, tagged on its own.
    tags.append(("incident-good-arm64", good_arm64))
    family_labels: dict[str, dict[str, str]] = {}
    for tag, fam, _ in FAMILY_TAGS:
        fam_image, fam_labels = family_image(fam)
        tags.append((tag, build(fam_image)))
        family_labels[tag] = fam_labels
    tag_map = dict(tags)
    for rel, data in layout_files(tags).items():
        files[f"images/{rel}"] = data

    # ---- archives
    oci_archive = {rel: data for rel, data in layout_files([("incident-good", good)]).items()}
    files["archives/incident-good.oci.tar"] = tar_bytes(oci_archive)
    files["archives/incident-bad.docker.tar"] = docker_archive(bad, "example.com/app:bad")
    files["archives/not-a-tar.tar"] = (b"This is not a tar archive.\nIt is a text file with a .tar name, used to test "
                                       b"error handling for unreadable archives.\n")

    # ---- broken layouts
    files["broken/no-index/oci-layout"] = canonical({"imageLayoutVersion": "1.0.0"})
    missing = tag_map["plain-null"]
    assert isinstance(missing, Built)
    for rel, data in layout_files([("missing-manifest", missing)]).items():
        if rel != "blobs/sha256/" + missing.digest.split(":", 1)[1]:
            files[f"broken/missing-blob/{rel}"] = data

    # ---- synthesized label dumps
    def java_notes(java_version: str) -> list[str]:
        return [n.replace("{java}", java_version) for n in JAVA_NOTES]

    synth["incident-good"] = (good_labels, source_text(
        "labels of tag incident-good: Spring Boot 3.1 app built with the components of paketo-buildpacks/java 9.9.0, JRE 17.0.7, "
        "lifecycle 0.16.5, CNB_PLATFORM_API=0.11, linux/amd64", PETCLINIC_SAMPLE, java_notes("9.9.0")))
    synth["incident-bad"] = (bad_labels, source_text(
        "labels of tag incident-bad: as incident-good but the components of paketo-buildpacks/java 9.10.0 (bellsoft-liberica 10.2.4, "
        "syft 1.31.0, dist-zip 5.6.3, spring-boot 5.25.2); same JRE, lifecycle, run image and app", PETCLINIC_SAMPLE, java_notes("9.10.0")))
    arch_note = ("bellsoft-liberica 10.2.x shipped no arm64/arm JREs: the JRE uri is built after BellSoft's file naming, its sha256 "
                 "is a synthesized stand-in (not the real checksum), purl arch and cpes follow the version")
    synth["multiarch.linux-arm64-v8"] = (good_arm64_labels, source_text(
        "labels of the linux/arm64/v8 manifest of tag multiarch (java 9.9.0 components, JRE 17.0.7 aarch64)", PETCLINIC_SAMPLE,
        java_notes("9.9.0") + [arch_note]))
    synth["multiarch.linux-arm-v7"] = (good_arm_labels, source_text(
        "labels of the linux/arm/v7 manifest of tag multiarch (java 9.9.0 components, JRE 17.0.6 arm32)", PETCLINIC_SAMPLE,
        java_notes("9.9.0") + [arch_note, "JRE 17.0.6 on arm/v7 (17.0.7 elsewhere) is a deliberate per-platform difference; "
                                          "bellsoft-liberica 10.2.3 itself only offered 17.0.7 for Java 17"]))
    synth["multiarch-next.linux-arm64-v8"] = (bad_arm64_labels, source_text(
        "labels of the linux/arm64/v8 manifest of tag multiarch-next (java 9.10.0 components, JRE 17.0.7 aarch64)", PETCLINIC_SAMPLE,
        java_notes("9.10.0") + [arch_note]))
    synth["broken-labels"] = (broken_labels, source_text(
        "labels of tag broken-labels: incident-good's labels with io.buildpacks.build.metadata made invalid JSON (a trailing comma "
        "after the last buildpacks[] element) and io.buildpacks.lifecycle.metadata.runImage.topLayer set to the number 12345",
        "the incident-good labels (and the labels research report, section 8.3: hand-edited malformed JSON exists)", []))
    synth["petclinic-2020-06"] = (p2020_labels, source_text(
        "labels of tag petclinic-2020-06: spring-petclinic built 2020-06 with paketo-buildpacks/java on bionic, lifecycle 0.7.5 "
        "(Platform API 0.3: no CNB_PLATFORM_API env)",
        "labels/petclinic-2020-06-paketo-java-meta.build-metadata.buildpacks.json (buildpacks[] copied verbatim) and the lifecycle v0.7.5 "
        "structs (metadata.go)",
        ["real data used: the buildpacks[] list verbatim (no homepage); JRE 11.0.7, jvmkill 1.16.0 and memory-calculator 4.0.0 "
         "dependency entries of bellsoft-liberica 2.8.0 (upstream-buildpack-toml-extracts.json) as FLAT layer data (libjvm < 1.20); "
         "the process command of executable-jar 1.2.7 (a string, args null, direct false).",
         "bom[] has one jre entry with top-level version and metadata.layer = \"jre\" on purpose (libpak 1.35 plan entries "
         "had no \"layer\" key); runImage.reference is the bionic run image's image ID (daemon export); no runImage.image.",
         "the bionic run image, its labels and all layer contents are synthesized placeholders."]))
    synth["ancient"] = (ancient_labels, source_text(
        "labels of tag ancient: a lifecycle 0.5-era node app",
        "labels/lifecycle-0.3-2019-03.lifecycle-metadata.empty-version.FRAGMENT.txt (buildpack key io.buildpacks.samples.nodejs with "
        "version \"\"), the lifecycle v0.5.0 structs (metadata/build.go, metadata/layers.go) and the labels research report (project research folder, labels/REPORT.md) sections 2.2, 3.2, 8.4, 8.5",
        ["app is a single object; build.metadata has no processes and \"bom\": null; org.cloudfoundry.procfile v1.0.87 is an "
         "invented v-prefixed 2019-style version (research report section 8.5).",
         "\"mirrors\": null is kept on purpose although lifecycle 0.5 marks mirrors omitempty (null mirrors are real in "
         "builder labels, see labels/heroku-builder-18-2020-04.builder-labels.FRAGMENT.txt); the empty version is from a lifecycle "
         "build of 2019-03 (fixed before 0.3.0) combined here with the 0.5 shape."]))
    synth["heroku"] = (heroku_labels, source_text(
        "labels of tag heroku: a Ruby app built by a heroku/builder:22-era builder (heroku/ruby + heroku/procfile, no homepage), "
        "lifecycle 0.15.3, stack heroku-22",
        "the labels research report (project research folder, labels/REPORT.md) sections 2.1, 3.1 and 8.4/8.6 (no homepage, integer layer data) and labels/heroku-builder-18-2020-04.builder-labels.FRAGMENT.txt",
        ["everything is synthesized: buildpack versions 2.0.0, layer names and data (build_count is an integer on purpose), run image.",
         "deviation from lifecycle 0.15 kept on purpose so that parsers meet this shape: CNB_PLATFORM_API=0.9 together with command ARRAYS and "
         "\"bom\": null - at Platform API 0.9 the lifecycle writes `command` as a string and omits bom; arrays need Platform API >= 0.10."]))
    synth["builder-2025"] = (b2025_labels, source_text(
        "labels of tag builder-2025: a paketobuildpacks/builder-jammy-base-like builder of 2025-04 (lifecycle 0.20.7, pack 0.37)",
        "labels/builder-jammy-base-2025-04.builder-metadata.FRAGMENTS.txt",
        ["io.buildpacks.builder.metadata.buildpacks[] = every COMPLETE {id,name,version[,homepage]} entry of the fragments, verbatim, "
         "first occurrence only (entries cut by the excerpt are left out); description completed (\"...and Procfile\").",
         "io.buildpacks.buildpack.layers = the complete entries of fragment chunk E, verbatim (a subset of the real label).",
         "synthesized: io.buildpacks.buildpack.order (2 single-composite groups, java and procfile, a subset shaped like "
         "builder-jammy-base's builder.toml), lifecycle version 0.20.7 and its apis (from buildpacks/lifecycle "
         "v0.20.x api/apis.go), createdBy version, stack/images run image, io.buildpacks.stack.* (after jammy-base-stack.stack.toml); "
         "Config User/Env/Cmd/WorkingDir are from fragment chunk A."]))
    synth["run-jammy-base"] = (run_amd64.stack_labels, source_text(
        "labels of tag run-jammy-base: the run image the incident images were built on (linux/amd64)",
        "labels/jammy-base-stack.stack.toml (id, homepage, maintainer, run description, run packages as mixins)",
        ["io.buildpacks.stack.distro.*, .metadata and .released values are synthesized; layers are placeholders."]))
    jvm_notes = [
        "memory-calculator inputs written as real files: jre env.launch/BPI_JVM_CLASS_COUNT.default = 24000 (a synthesized value; "
        "the real class count of Liberica 17.0.7 was never measured), BPI_APPLICATION_PATH.default = /workspace, JAVA_TOOL_OPTIONS "
        "append/delim; spring-boot web-application-type env.launch/BPL_JVM_THREAD_COUNT.default.",
        "the application (/workspace) and spring-cloud-bindings-1.13.0.jar are real zips of EMPTY class entries written by Python's "
        "zipfile (fixed date_time, sorted names); the exact class count is in inventory.json (expected_memory), computed by "
        "generate.py from the generated layer tars with libjvm count.go's rules.",
        "the spring-cloud-bindings dependency entry is spring-boot 5.25.1's (upstream-buildpack-toml-extracts.json) for every "
        "spring-boot version; buildpack info likewise comes from 5.25.1 with the version replaced.",
    ]
    synth["jvm-threads-50"] = (jvm50_labels, source_text(
        "labels of tag jvm-threads-50: the components of paketo-buildpacks/java 9.9.0 (as incident-good) but spring-boot 5.23.0 "
        "(a combination no java composite release shipped), BPL_JVM_THREAD_COUNT.default 50", PETCLINIC_SAMPLE,
        java_notes("9.9.0")[:-1] + jvm_notes))
    synth["jvm-threads-250"] = (jvm250_labels, source_text(
        "labels of tag jvm-threads-250: as jvm-threads-50 but spring-boot 5.24.0 and BPL_JVM_THREAD_COUNT.default 250",
        PETCLINIC_SAMPLE, java_notes("9.9.0")[:-1] + jvm_notes))
    synth["jvm-incident"] = (jvm_inc_labels, source_text(
        "labels of tag jvm-incident: the components of paketo-buildpacks/java 9.10.0 (as incident-bad: spring-boot 5.25.2), "
        "BPL_JVM_THREAD_COUNT.default 250, BPI_JVM_CLASS_COUNT.default 24000, application of 29830 classes "
        "(jvm-threads-50's app + BOOT-INF/lib/big-1.0.jar with 28635 classes)", PETCLINIC_SAMPLE,
        java_notes("9.10.0")[:-1] + jvm_notes))
    for tag, labels_of, what in (
            ("app-change", app_change_labels, "a code change: application.properties gains `server.shutdown=graceful` "
             "(one app slice differs); buildpacks, run image and lifecycle as incident-good"),
            ("rebased", rebased_labels, "incident-good rebased onto the next build of paketobuildpacks/run-jammy-base:latest "
             "(2023-06-15: new packages and top layer; runImage.topLayer/reference follow); everything above the run image as incident-good"),
            ("jre-rebuilt", jre_rebuilt_labels, "bellsoft-liberica's jre layer rebuilt at the same buildpack version 10.2.3 "
             "(a new trust store); everything else as incident-good")):
        synth[tag] = (labels_of, source_text(f"labels of tag {tag}: {what}", PETCLINIC_SAMPLE, java_notes("9.9.0")))
    sbom_note = ("SBOM documents: the run image's /cnb/sbom/bom.cdx.json (CycloneDX 1.6), the jre layer's CycloneDX, "
                 "spring-cloud-bindings' SPDX 2.3 and executable-jar's syft JSON of the app's libraries are built after the shape "
                 "of the real documents in testdata/sbom/ (syft's and packit's encoder outputs); package names and versions are "
                 "Ubuntu 22.04 / Maven Central ones, chosen for the fixture, not read from a real image")
    synth["sbom-before"] = (sbom_before_labels, source_text(
        "labels of tag sbom-before: the java 9.10.0 components with JRE 17.0.6 on a run-jammy-base carrying its OS package "
        "SBOM in a layer of its own (io.buildpacks.base.sbom)", PETCLINIC_SAMPLE, java_notes("9.10.0") + [sbom_note]))
    synth["sbom-after"] = (sbom_after_labels, source_text(
        "labels of tag sbom-after: sbom-before rebased onto the 2023-06-15 run image (libssl3/openssl/tzdata revisions, "
        "libgnutls30 added, libtasn1-6 removed), JRE 17.0.7, newer app libraries", PETCLINIC_SAMPLE,
        java_notes("9.10.0") + [sbom_note]))
    for tag, run_image in (("run-bionic-packages-a", legacy_before), ("run-bionic-packages-b", legacy_after)):
        synth[tag] = (run_image.stack_labels, source_text(
            f"labels of tag {tag}: a bionic run image with the legacy io.paketo.stack.packages label",
            "the io.paketo.stack.packages label of labels/paketo-java-petclinic-tiny-platform-0.8-lifecycle-0.13.1.config-labels.json "
            "(entry fields name, version, arch, source, summary)",
            ["package versions are bionic-style strings chosen for the fixture (libssl1.1 ~18.04.21 -> ~18.04.22, tzdata "
             "2022g -> 2023c)"]))
    synth["plain-a"] = (dict(plain["plain-a"].config["config"]["Labels"]), source_text(
        "labels of tag plain-a (repo2docker-style, no io.buildpacks labels)", "a repo2docker image's labels", []))
    synth["plain-b"] = (dict(plain["plain-b"].config["config"]["Labels"]), source_text(
        "labels of tag plain-b (repo2docker-style, no io.buildpacks labels)", "a repo2docker image's labels", []))
    for tag, fam, what in FAMILY_TAGS:
        synth[tag] = (family_labels[tag], source_text(
            f"labels of tag {tag}: a {fam.what}: {what}",
            "each family's buildpack source at the commits named in docs/runtimes.md (layer metadata keys, packit's "
            "sbom.GenerateFromDependency, syft's Go binary cataloger) and lifecycle 0.20 label structs",
            ["synthesized: versions, checksums (stand-ins), layer contents (placeholders), the run images. Real: the label "
             "and SBOM shapes each buildpack family writes, and where (layer names, metadata keys, SBOM package names, "
             "purls, the `go` prefix of syft's stdlib version)."]))
    for name, (labels, source) in synth.items():
        files[f"labels/synthesized/{name}.config-labels.json"] = pretty(labels)
        files[f"labels/synthesized/{name}.config-labels.json.source"] = source

    # ---- every JSON label that is meant to be valid must parse
    for name, (labels, _) in synth.items():
        for key, value in (labels or {}).items():
            if key.startswith("io.buildpacks.") and value.lstrip()[:1] in "{[":
                if name == "broken-labels" and key == "io.buildpacks.build.metadata":
                    try:
                        json.loads(value)
                    except json.JSONDecodeError:
                        continue
                    raise AssertionError("broken-labels build metadata unexpectedly parses")
                json.loads(value)

    plain_a, plain_b = tag_map["plain-a"], tag_map["plain-b"]
    assert isinstance(plain_a, Built) and isinstance(plain_b, Built)
    comparisons = [
        ("incident-good..incident-bad", good, bad),
        ("incident-good..app-change", good, app_change),
        ("incident-good..rebased", good, rebased),
        ("incident-good..jre-rebuilt", good, jre_rebuilt),
        ("multiarch[linux/arm64/v8]..multiarch-next[linux/arm64/v8]", good_arm64, bad_arm64),
        ("incident-good..multiarch[linux/arm64/v8]", good, good_arm64),
        ("multiarch[linux/arm64/v8]..multiarch[linux/arm/v7]", good_arm64, good_arm),
        ("plain-a..plain-b", plain_a, plain_b),
    ]
    files["inventory.json"] = (pretty_flat_leaves(inventory(tags, files, comparisons, expected)) + "\n").encode()

    # ---- write
    for rel in OWNED:
        target = out / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for rel, data in sorted(files.items()):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return json.loads(files["inventory.json"])


def describe(item: Tagged) -> dict[str, Any]:
    if isinstance(item, BuiltIndex):
        return {**item.descriptor(), "manifests": [{"platform": c.platform(), **describe(c)} for c in item.children]}
    layers = [{"digest": b.digest, "size": len(b.gz), "diffID": b.diff_id, "uncompressedSize": len(b.tar),
               **({"name": item.image.layer_names[k]} if item.image.layer_names else {})}
              for k, b in enumerate(item.layers)]
    return {**item.descriptor(),
            "config": {"digest": sha256(item.config), "size": len(item.config)},
            "layerCount": len(layers),
            "layerBytes": sum(x["size"] for x in layers),
            "layers": layers}


def shared_layers(a: Built, b: Built) -> dict[str, Any]:
    """How many of B's layers A already has (by blob digest), and which B layers are new."""
    a_digests = {x.digest for x in a.layers}
    shared = [(x, name) for x, name in zip(b.layers, b.image.layer_names) if x.digest in a_digests]
    unique_shared = {x.digest: x for x, _ in shared}
    return {
        "layersA": len(a.layers),
        "layersB": len(b.layers),
        "sharedLayerPositions": len(shared),
        "sharedUniqueBlobs": len(unique_shared),
        "sharedBytes": sum(len(x.gz) for x in unique_shared.values()),
        "sharedUncompressedBytes": sum(len(x.tar) for x in unique_shared.values()),
        "sharedNames": [name for _, name in shared],
        "onlyInB": [{"digest": x.digest, "name": name} for x, name in zip(b.layers, b.image.layer_names)
                    if x.digest not in a_digests],
    }


def inventory(tags: list[tuple[str, Tagged]], files: dict[str, bytes],
              comparisons: list[tuple[str, Built, Built]], expected: dict[str, dict[str, int]]) -> dict[str, Any]:
    tag_map = dict(tags)
    good, bad = tag_map["incident-good"], tag_map["incident-bad"]
    assert isinstance(good, Built) and isinstance(bad, Built)
    inv: dict[str, Any] = {
        "_comment": "generated by testdata/generate.py; sizes are bytes; layerBytes = compressed blob bytes; "
                    "comparisons count B's layers whose blob digest also occurs in A",
        "layout": "testdata/images",
        "tags": {tag: {**describe(item), **({"expected_memory": expected[tag]} if tag in expected else {})}
                 for tag, item in tags},
        "archives": {
            "archives/incident-good.oci.tar": {"format": "oci-archive", "refName": "incident-good", "manifestDigest": good.digest},
            "archives/incident-bad.docker.tar": {"format": "docker-archive", "repoTag": "example.com/app:bad",
                                                 "configDigest": sha256(bad.config)},
            "archives/not-a-tar.tar": {"format": "not a tar"},
        },
        "comparisons": {name: shared_layers(a, b) for name, a, b in comparisons},
    }
    for name, entry in inv["archives"].items():
        entry["size"] = len(files[name])
        entry["sha256"] = sha256(files[name])
    return inv


def check() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        fresh = owned_files(Path(tmp))
        current = owned_files(HERE)
        problems = []
        for rel in sorted(set(fresh) | set(current)):
            if rel not in current:
                problems.append(f"missing: testdata/{rel}")
            elif rel not in fresh:
                problems.append(f"extra (stale): testdata/{rel}")
            elif fresh[rel].read_bytes() != current[rel].read_bytes():
                problems.append(f"differs: testdata/{rel}")
    if problems:
        print("testdata is not up to date; run `python3 testdata/generate.py`:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print(f"testdata up to date ({len(fresh)} generated files identical)")
    return 0


def owned_files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for rel in OWNED:
        p = root / rel
        if p.is_file():
            found[rel] = p
        elif p.is_dir():
            for f in p.rglob("*"):
                if f.is_file():
                    found[f.relative_to(root).as_posix()] = f
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary directory and fail if the checked-in files differ")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    inv = generate(HERE)
    for tag, d in inv["tags"].items():
        print(f"{tag:18} {d['digest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
