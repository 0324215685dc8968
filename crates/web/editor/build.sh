#!/usr/bin/env bash
# Rebuilds ../assets/editor.js, the bundle the web crate serves at
# /static/editor.js. The bundle is committed so that cargo build needs no Node:
# run this after changing src/ or package.json, and commit both.
#
#   build.sh           rebuild the bundle
#   build.sh --check   rebuild it elsewhere and fail if the committed one differs
set -euo pipefail
cd "$(dirname "$0")"
out=../assets/editor.js
if [ "${1:-}" = --check ]; then
  out="$(mktemp --suffix=.js)"
  trap 'rm -f "$out"' EXIT
fi
npm ci --no-audit --no-fund --silent
npx esbuild src/editor.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=eof --log-level=warning --outfile="$out"
if [ "${1:-}" = --check ] && ! cmp -s "$out" ../assets/editor.js; then
  echo "crates/web/assets/editor.js is not what crates/web/editor builds: run crates/web/editor/build.sh and commit the bundle" >&2
  exit 1
fi
