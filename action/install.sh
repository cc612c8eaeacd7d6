#!/usr/bin/env bash
# Puts a bpdrift binary where the action's run step finds it (the step output `bin`).
#
#   install.sh resolve   outputs version, mode (release or source), target, key and dir: what
#                        to install, and the actions/cache key and path for it
#   install.sh install   uses dir/bin/bpdrift when the cache restored it; otherwise downloads
#                        the release asset for this runner and checks its sha256 against the
#                        release's sha256sums.txt, or builds the action's own source with
#                        `cargo install --locked --path`
#
# Inputs arrive through the environment (action.yml's env:), never through ${{ }} in a script.
# BPDRIFT_RELEASES_URL replaces the GitHub releases URL (the tests serve assets on loopback).
set -euo pipefail

action_path="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"

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

resolve() {
  local source_version requested target mode key hash
  source_version="$(cargo_field version)"
  requested="${INPUT_VERSION:-}"
  requested="${requested#v}"
  requested="${requested:-$source_version}"
  target="$(release_target)"
  if [[ "$requested" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]] && [ -n "$target" ]; then
    mode=release
    key="bpdrift-$requested-$target"
  else
    if [ "$requested" != "$source_version" ]; then
      # A branch or commit name: `uses: …@<ref>` decides which source the action has.
      echo "::notice title=bpdrift::version '$requested' is not a release: building the action's own source"
    fi
    mode=source
    requested="$source_version"
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

download_release() {
  local version="$1" target="$2" dir="$3" base asset tmp expected actual proto
  base="${BPDRIFT_RELEASES_URL:-$(cargo_field repository)/releases/download}"
  # HTTPS only, except a loopback test server.
  case "$base" in
    http://127.0.0.1:* | http://localhost:*) proto='=http' ;;
    *) proto='=https' ;;
  esac
  asset="bpdrift-$version-$target.tar.gz"
  tmp="$(mktemp -d)"
  echo "downloading $base/v$version/$asset"
  if ! curl --proto "$proto" --fail --silent --show-error --location --retry 3 \
    --connect-timeout 10 --max-time 300 \
    --output "$tmp/$asset" "$base/v$version/$asset" ||
    ! curl --proto "$proto" --fail --silent --show-error --location --retry 3 \
      --connect-timeout 10 --max-time 60 \
      --output "$tmp/sha256sums.txt" "$base/v$version/sha256sums.txt"; then
    rm -rf "$tmp"
    return 1
  fi
  expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1; exit }' "$tmp/sha256sums.txt")"
  actual="$(sha256 "$tmp/$asset")"
  # A mismatch is corruption or tampering: fail, never fall back to something else.
  if [ -z "$expected" ]; then
    echo "::error title=bpdrift::sha256sums.txt of v$version has no line for $asset"
    exit 1
  fi
  if [ "$expected" != "$actual" ]; then
    echo "::error title=bpdrift::$asset does not match sha256sums.txt of v$version (expected $expected, got $actual)"
    exit 1
  fi
  echo "verified $asset: sha256 $actual"
  tar -xzf "$tmp/$asset" -C "$tmp"
  mkdir -p "$dir/bin"
  cp "$tmp/bpdrift-$version-$target/bpdrift" "$dir/bin/bpdrift"
  chmod 0755 "$dir/bin/bpdrift"
  rm -rf "$tmp"
}

build_source() {
  local dir="$1"
  if ! command -v cargo >/dev/null 2>&1; then
    echo "::error title=bpdrift::no release binary to use and no cargo to build one: set the version input to a release, or install a Rust toolchain before this step"
    exit 1
  fi
  echo "building bpdrift from $action_path with cargo install --locked"
  cargo install --locked --path "$action_path" --root "$dir"
}

install() {
  local version="${BPDRIFT_VERSION:?}" mode="${BPDRIFT_MODE:?}" target="${BPDRIFT_TARGET:-}"
  local dir="${BPDRIFT_DIR:?}"
  if [ -x "$dir/bin/bpdrift" ]; then
    echo "bpdrift $version from the cache ($dir)"
  elif [ "$mode" = release ]; then
    if ! download_release "$version" "$target" "$dir"; then
      if [ "$version" = "$(cargo_field version)" ]; then
        # This action's own version, not released yet (or not for this target): same source.
        echo "::notice title=bpdrift::no release asset for bpdrift $version on $target: building the action's own source"
        build_source "$dir"
      else
        echo "::error title=bpdrift::cannot download bpdrift $version for $target; is it a release?"
        exit 1
      fi
    fi
  else
    build_source "$dir"
  fi
  "$dir/bin/bpdrift" --version
  output bin "$dir/bin/bpdrift"
}

case "${1:-}" in
  resolve) resolve ;;
  install) install ;;
  *)
    echo "usage: install.sh resolve|install" >&2
    exit 2
    ;;
esac
