#!/usr/bin/env bash
# Installs what the tests need when it is missing, then runs every check CI runs:
# formatting, clippy, the testdata generator check and the tests.
# Used by humans, by .ci/run and by .github/workflows/ci.yml alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# The registry tests run a real registry and seed it with skopeo (Debian packages).
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v python3 >/dev/null 2>&1 || need+=(python3)
# The token-auth tests make a key and sign JWTs with the openssl command.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The HTML report test renders the page in headless Chromium and reads the DOM back.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

# Incremental compilation only costs time on a cold CI target/.
export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
python3 testdata/generate.py --check
cargo test --locked
