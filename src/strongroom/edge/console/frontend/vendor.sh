#!/usr/bin/env bash
# Rebuild the console's vendored browser files from the pinned npm packages.
#
#   vendor.sh          install from package-lock.json and copy the built files into
#                      ../static/console/vendor/ (with SHA256SUMS)
#   vendor.sh --check  build into a scratch folder and fail unless it matches the committed
#                      files byte for byte
#
# Running Strongroom needs no Node: the built files are committed. Only this script needs npm.
# `npm ci` installs exactly the lock file; --ignore-scripts runs no package's install hooks.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor="$here/../static/console/vendor"

# package path inside node_modules -> name in the vendor folder
files=(
  "htmx.org/dist/htmx.min.js:htmx.min.js"
  "htmx.org/LICENSE:htmx.LICENSE.txt"
  "tus-js-client/dist/tus.min.js:tus.min.js"
  "tus-js-client/LICENSE:tus-js-client.LICENSE.txt"
  "hls.js/dist/hls.light.min.js:hls.light.min.js"
  "hls.js/LICENSE:hls.js.LICENSE.txt"
)

build() {
  local out="$1" work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  mkdir -p "$out"
  local entry
  for entry in "${files[@]}"; do
    cp "$work/node_modules/${entry%%:*}" "$out/${entry##*:}"
  done
  (cd "$out" && LC_ALL=C sha256sum -- $(printf '%s\n' "${files[@]##*:}" | LC_ALL=C sort) > SHA256SUMS)
}

case "${1:-}" in
  --check)
    fresh="$(mktemp -d)"
    trap 'rm -rf "$fresh"' EXIT
    build "$fresh"
    if diff -r "$fresh" "$vendor"; then
      echo "vendor files match a fresh build"
    else
      echo "vendor files differ from a fresh build: run vendor.sh and commit the result" >&2
      exit 1
    fi
    ;;
  "")
    rm -rf "$vendor"
    build "$vendor"
    echo "wrote $(wc -l < "$vendor/SHA256SUMS") files to static/console/vendor/"
    ;;
  *)
    echo "usage: vendor.sh [--check]" >&2
    exit 2
    ;;
esac
