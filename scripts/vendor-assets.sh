#!/usr/bin/env bash
# Refresh the browser assets that pishkhan-web serves from its own binary
# (include_bytes!). Nothing is ever loaded from a CDN: the files come from the
# npm packages pinned in web-assets/package.json + package-lock.json and are
# copied into crates/pishkhan-web/assets/vendor/, where they are committed.
#
# Usage: scripts/vendor-assets.sh
# To upgrade: change the exact version in web-assets/package.json, run
# `npm install` in web-assets/ to update the lock file, then run this script
# and update crates/pishkhan-web/assets/vendor/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG_DIR="$ROOT/web-assets"
NM="$PKG_DIR/node_modules"
DEST="$ROOT/crates/pishkhan-web/assets/vendor"
# axe-core is a dev dependency: only the browser tests load it, the binary never serves it.
TEST_DEST="$ROOT/crates/pishkhan-web/tests/vendor"

command -v npm >/dev/null 2>&1 || { echo "vendor-assets: npm is required" >&2; exit 1; }

( cd "$PKG_DIR" && npm ci --ignore-scripts --no-audit --no-fund )

mkdir -p "$DEST" "$TEST_DEST"

# source (relative to node_modules)        -> destination file name
# The variable font is renamed: "[" and "]" are awkward in URLs and routes.
FILES=(
  "vazirmatn/fonts/webfonts/Vazirmatn[wght].woff2|Vazirmatn-Variable.woff2"
  "vazirmatn/OFL.txt|Vazirmatn-OFL.txt"
  "htmx.org/dist/htmx.min.js|htmx.min.js"
  "htmx.org/LICENSE|htmx-LICENSE.txt"
  "echarts/dist/echarts.min.js|echarts.min.js"
  "echarts/LICENSE|echarts-LICENSE.txt"
  "echarts/NOTICE|echarts-NOTICE.txt"
)

for entry in "${FILES[@]}"; do
  src="$NM/${entry%%|*}"
  dst="$DEST/${entry##*|}"
  if [[ ! -f "$src" ]]; then
    echo "vendor-assets: missing $src (package layout changed?)" >&2
    exit 1
  fi
  cp "$src" "$dst"
  chmod 0644 "$dst"
done

for entry in "axe-core/axe.min.js|axe.min.js" "axe-core/LICENSE|axe-core-LICENSE.txt"; do
  src="$NM/${entry%%|*}"
  dst="$TEST_DEST/${entry##*|}"
  [[ -f "$src" ]] || { echo "vendor-assets: missing $src" >&2; exit 1; }
  cp "$src" "$dst"
  chmod 0644 "$dst"
done

vaz_ver="$(node -p "require('$NM/vazirmatn/package.json').version")"
htmx_ver="$(node -p "require('$NM/htmx.org/package.json').version")"
echarts_ver="$(node -p "require('$NM/echarts/package.json').version")"
axe_ver="$(node -p "require('$NM/axe-core/package.json').version")"
echo "vendor-assets: vazirmatn $vaz_ver, htmx.org $htmx_ver, echarts $echarts_ver -> $DEST; axe-core $axe_ver -> $TEST_DEST"
ls -l "$DEST"
