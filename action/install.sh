#!/usr/bin/env bash
# Puts a bpdrift binary where the action's run step finds it (the step output `bin`).
#
#   install.sh resolve   outputs version, mode (release or source), target, key and dir: what
#                        to install, and the actions/cache key and path for it
#   install.sh install   release: the asset (from the cache, else downloaded) is checked on every
#                        run against the sha256 this action's own action/checksums.txt carries,
#                        then unpacked afresh; source: `cargo install --locked --path` of the
#                        action's own source into a fresh directory
#
# Release or source is the action's own ref (what `uses: …@<ref>` named; see action_ref): a
# release tag (v1.2.3, or v1 / v1.2 for the newest such release the checksums list) downloads that
# release; a branch, a commit SHA or a local action builds the source it is. The `version` input
# asks for a release outright. checksums.txt is written into the repository when a release is
# made, so the commit the action is pinned to pins the binary: a release asset replaced later, or a
# cache entry written by anyone who may write caches, does not match and is refused; a release the
# file does not list is an error, never a silent source build.
#
# Inputs arrive through the environment (action.yml's env:), never through ${{ }} in a script.
# BPDRIFT_RELEASES_URL replaces the GitHub releases URL and BPDRIFT_CHECKSUMS the checksums file
# (the tests serve assets on loopback and sign their own).
set -euo pipefail

action_path="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
checksums="${BPDRIFT_CHECKSUMS:-$action_path/action/checksums.txt}"
version_re='^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$'

output() {
  printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:?GITHUB_OUTPUT is not set}"
}

# The first `key = "value"` of the [package] table of the action's Cargo.toml.
cargo_field() {
  sed -n "s/^$1 = \"\\(.*\\)\"\$/\\1/p" "$action_path/Cargo.toml" | head -n 1
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

# The release target built for this runner by .github/workflows/release.yml; empty when none is.
release_target() {
  case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    *) echo "" ;;
  esac
}

asset_of() {
  echo "bpdrift-$1-$2.tar.gz"
}

# The sha256 this action carries for an asset; empty when it carries none.
expected_sum() {
  [ -f "$checksums" ] || return 0
  awk -v f="$1" '$2 == f || $2 == "*" f { print $1; exit }' "$checksums"
}

# The newest release the checksums list for this target whose version starts with $1 (a major
# or major.minor tag such as v1 or v1.2).
newest_listed() {
  [ -f "$checksums" ] || return 0
  sed -n "s/^[0-9a-f]\{64\} [ *]\{0,1\}bpdrift-\(.*\)-$2\.tar\.gz\$/\1/p" "$checksums" |
    grep -E "^$1\." | sort -V | tail -n 1
}

# The action's ref. GITHUB_ACTION_REF is not promised for composite actions (it is empty in
# their steps: actions/runner#2525, github/docs#25336); the runner checks an action out at
# _actions/<owner>/<repo>/<ref>, so the path names it then. A local action (`uses: ./`) has none.
action_ref() {
  if [ -n "${GITHUB_ACTION_REF:-}" ]; then
    echo "$GITHUB_ACTION_REF"
    return
  fi
  case "$action_path" in
    */_actions/*/*/*) basename "$action_path" ;;
    *) echo "" ;;
  esac
}

resolve() {
  local requested ref target mode key hash
  requested="${INPUT_VERSION:-}"
  requested="${requested#v}"
  ref="$(action_ref)"
  target="$(release_target)"
  if [ -z "$requested" ]; then
    if [[ "${ref#v}" =~ $version_re ]]; then
      requested="${ref#v}"
    elif [[ "$ref" =~ ^v[0-9]+(\.[0-9]+)?$ ]] && [ -n "$target" ]; then
      requested="$(newest_listed "${ref#v}" "$target")"
      if [ -z "$requested" ]; then
        echo "::error title=bpdrift::the action's checksums list no release for $ref on $target"
        exit 1
      fi
    fi
  fi
  if [ -n "$requested" ] && ! [[ "$requested" =~ $version_re ]]; then
    echo "::error title=bpdrift::version '$requested' is not a release version such as 1.2.3; leave it empty to use the action's own ref"
    exit 1
  fi
  if [ -n "$requested" ] && [ -n "$target" ]; then
    mode=release
    if [ -z "$(expected_sum "$(asset_of "$requested" "$target")")" ]; then
      echo "::error title=bpdrift::this action carries no checksum for bpdrift $requested on $target (action/checksums.txt): refusing an unverifiable binary"
      exit 1
    fi
    key="bpdrift-$requested-$target"
  else
    if [ -n "$requested" ]; then
      echo "::notice title=bpdrift::no release binary for ${RUNNER_OS:-this}/${RUNNER_ARCH:-runner}: building the action's own source"
    elif [ -n "$ref" ]; then
      echo "::notice title=bpdrift::the action's ref '$ref' is not a release tag: building the action's own source"
    fi
    mode=source
    requested="$(cargo_field version)"
    # The source decides the binary, so it decides the cache key too.
    hash="$(cd "$action_path" && find Cargo.toml Cargo.lock src -type f | LC_ALL=C sort |
      while IFS= read -r f; do sha256 "$f"; done | sha256 /dev/stdin | cut -c 1-16)"
    key="bpdrift-source-$hash-${RUNNER_OS:-unknown}-${RUNNER_ARCH:-unknown}"
  fi
  output version "$requested"
  output mode "$mode"
  output target "$target"
  output key "$key"
  output dir "${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/bpdrift/$key"
}

download() {
  local url="$1" file="$2" proto
  # HTTPS only, except a loopback test server.
  case "$url" in
    http://127.0.0.1:* | http://localhost:*) proto='=http' ;;
    *) proto='=https' ;;
  esac
  curl --proto "$proto" --fail --silent --show-error --location --retry 3 \
    --connect-timeout 10 --max-time 300 --output "$file" "$url"
}

install_release() {
  local version="$1" target="$2" dir="$3" base asset expected actual unpacked
  asset="$(asset_of "$version" "$target")"
  expected="$(expected_sum "$asset")"
  if [ -z "$expected" ]; then
    echo "::error title=bpdrift::this action carries no checksum for $asset (action/checksums.txt)"
    exit 1
  fi
  mkdir -p "$dir"
  if [ -f "$dir/$asset" ]; then
    echo "bpdrift $version from the cache ($dir)"
  else
    base="${BPDRIFT_RELEASES_URL:-$(cargo_field repository)/releases/download}"
    echo "downloading $base/v$version/$asset"
    if ! download "$base/v$version/$asset" "$dir/$asset.part"; then
      rm -f "$dir/$asset.part"
      echo "::error title=bpdrift::cannot download bpdrift $version for $target; is it a release?"
      exit 1
    fi
    mv "$dir/$asset.part" "$dir/$asset"
  fi
  # Every run, cached or not: a mismatch is corruption or tampering; fail, never fall back.
  actual="$(sha256 "$dir/$asset")"
  if [ "$expected" != "$actual" ]; then
    rm -f "$dir/$asset"
    echo "::error title=bpdrift::$asset does not match the sha256 this action carries (expected $expected, got $actual): refusing it"
    exit 1
  fi
  echo "verified $asset: sha256 $actual"
  # Unpacked afresh from the verified archive: nothing unchecked from the cache is run.
  unpacked="$(mktemp -d "${RUNNER_TEMP:-/tmp}/bpdrift-bin.XXXXXX")"
  tar -xzf "$dir/$asset" -C "$unpacked"
  bin="$unpacked/bpdrift-$version-$target/bpdrift"
  chmod 0755 "$bin"
}

build_source() {
  local root
  if ! command -v cargo >/dev/null 2>&1; then
    echo "::error title=bpdrift::no release binary to use and no cargo to build one: use the action at a release tag (or set the version input), or install a Rust toolchain before this step"
    exit 1
  fi
  # A fresh root every run: a binary restored from a cache cannot be checked against anything
  # this action carries, so it is never run.
  root="$(mktemp -d "${RUNNER_TEMP:-/tmp}/bpdrift-src.XXXXXX")"
  echo "building bpdrift from $action_path with cargo install --locked"
  cargo install --locked --path "$action_path" --root "$root"
  bin="$root/bin/bpdrift"
}

install() {
  local version="${BPDRIFT_VERSION:?}" mode="${BPDRIFT_MODE:?}" target="${BPDRIFT_TARGET:-}"
  local dir="${BPDRIFT_DIR:?}"
  bin=""
  if [ "$mode" = release ]; then
    install_release "$version" "$target" "$dir"
  else
    build_source
  fi
  "$bin" --version
  output bin "$bin"
}

case "${1:-}" in
  resolve) resolve ;;
  install) install ;;
  *)
    echo "usage: install.sh resolve|install" >&2
    exit 2
    ;;
esac
