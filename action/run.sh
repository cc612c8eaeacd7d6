#!/usr/bin/env bash
# The action's main step: maps the INPUT_* variables, which action.yml sets from its inputs
# through env: (never ${{ }} inside run:), to `bpdrift github comment` (diff two images) or
# `bpdrift github post` (a report saved by an earlier run). BPDRIFT_BIN names the binary the
# install step put in place; the tests point it at the one cargo built.
set -euo pipefail

bin="${BPDRIFT_BIN:-bpdrift}"
args=(--key "${INPUT_COMMENT_KEY:-default}")
case "${INPUT_COMMENT:-true}" in
  true | True | TRUE) ;;
  false | False | FALSE) args+=(--no-comment) ;;
  *)
    echo "::error title=bpdrift::the comment input must be true or false"
    exit 2
    ;;
esac
# The upload step (action.yml) reads `sarif`; a typo must not silently upload nothing.
case "${INPUT_SARIF:-false}" in
  true | false) ;;
  *)
    echo "::error title=bpdrift::the sarif input must be true or false"
    exit 2
    ;;
esac
if [ -n "${INPUT_FAIL_ON:-}" ]; then
  args+=(--fail-on "$INPUT_FAIL_ON")
fi
if [ -n "${INPUT_PR:-}" ]; then
  args+=(--pr "$INPUT_PR")
fi
if [ -n "${INPUT_AUTHOR:-}" ]; then
  args+=(--comment-author "$INPUT_AUTHOR")
fi

if [ -n "${INPUT_FROM_REPORT:-}" ]; then
  if [ "${INPUT_SARIF:-false}" = true ]; then
    echo "::error title=bpdrift::sarif needs the diff run (base-image and head-image), not from-report"
    exit 2
  fi
  exec "$bin" github post "${args[@]}" -- "$INPUT_FROM_REPORT"
fi

if [ -z "${INPUT_BASE_IMAGE:-}" ] || [ -z "${INPUT_HEAD_IMAGE:-}" ]; then
  echo "::error title=bpdrift::base-image and head-image are required (or from-report)"
  exit 2
fi
if [ -n "${INPUT_PLATFORM:-}" ]; then
  args+=(--platform "$INPUT_PLATFORM")
fi
if [ -n "${INPUT_MEMORY:-}" ]; then
  args+=(--memory "$INPUT_MEMORY")
fi
if [ "${INPUT_SBOM:-false}" = "true" ]; then
  args+=(--sbom)
fi
# Release notes come from the GitHub API: on by default where a token can read it.
if [ "${INPUT_RELEASE_NOTES:-true}" = "true" ] && [ -n "${GITHUB_TOKEN:-}" ]; then
  args+=(--release-notes)
fi
if [ -n "${INPUT_SARIF_LOCATION:-}" ]; then
  args+=(--sarif-location "$INPUT_SARIF_LOCATION")
fi
if [ -n "${INPUT_HISTORY:-}" ]; then
  args+=(--history "$INPUT_HISTORY" --expect-every "${INPUT_EXPECT_EVERY:-24h}")
fi
# `flag` once per line of `text`; blank lines and surrounding spaces do not count.
add_per_line() {
  local flag="$1" text="$2" line
  while IFS= read -r line; do
    line="${line#"${line%%[![:space:]]*}"}"
    line="${line%"${line##*[![:space:]]}"}"
    if [ -n "$line" ]; then
      args+=("$flag" "$line")
    fi
  done <<<"$text"
}
# One KEY=VALUE per line, for the memory prediction; one rule file per line.
add_per_line --env "${INPUT_ENV:-}"
add_per_line --rules "${INPUT_RULES:-}"

# `--` so an image name can never be read as a flag.
exec "$bin" github comment "${args[@]}" -- "$INPUT_BASE_IMAGE" "$INPUT_HEAD_IMAGE"
