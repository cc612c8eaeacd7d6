#!/usr/bin/env bash
# Prints the CHANGELOG.md entry of a release, or fails: the release workflow runs it before it
# builds anything, so a tag without an entry is refused, and it uses the output as the release
# notes. Usage: scripts/changelog-entry.sh VERSION [CHANGELOG]   (VERSION without the `v`).
#
# Keep a Changelog 1.1.0 (https://keepachangelog.com/en/1.1.0/): the entry is the section under
# `## [VERSION] - YYYY-MM-DD`, up to the next `## ` heading; it must hold at least one
# `### Added|Changed|Deprecated|Removed|Fixed|Security` group with a `- ` item.
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 VERSION [CHANGELOG]" >&2
  exit 2
fi
version="$1"
file="${2:-CHANGELOG.md}"
if ! [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$ ]]; then
  echo "error: \`$version\` is not a version (expected MAJOR.MINOR.PATCH, no \`v\`)" >&2
  exit 2
fi
if ! [ -f "$file" ]; then
  echo "error: $file does not exist" >&2
  exit 1
fi

# awk, not sed: the version is matched as a literal string (its dots are not wildcards).
entry="$(awk -v want="$version" '
  /^## / {
    if (inside) exit
    if (index($0, "## [" want "]") == 1) {
      inside = 1
      rest = substr($0, length("## [" want "]") + 1)
      if (rest !~ /^ - [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/) { print "BAD-HEADING"; exit }
      next
    }
  }
  inside { print }
' "$file")"

if [ -z "$entry" ] && ! grep -qF "## [$version]" "$file"; then
  echo "error: $file has no entry for $version: add \`## [$version] - $(date -u +%Y-%m-%d)\` with what changed (move the [Unreleased] items there)" >&2
  exit 1
fi
if [ "$entry" = "BAD-HEADING" ]; then
  echo "error: the $file heading of $version must read \`## [$version] - YYYY-MM-DD\`" >&2
  exit 1
fi
if ! grep -qE '^### (Added|Changed|Deprecated|Removed|Fixed|Security)$' <<<"$entry" ||
  ! grep -qE '^- ' <<<"$entry"; then
  echo "error: the $file entry of $version is empty: list what changed under ### Added, Changed, Deprecated, Removed, Fixed or Security" >&2
  exit 1
fi
# Trim the blank lines around the entry.
sed -e '/./,$!d' <<<"$entry" | sed -e ':a' -e '/^\n*$/{$d;N;ba' -e '}'
