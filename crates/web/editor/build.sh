#!/usr/bin/env bash
# Rebuilds ../assets/editor.js, the bundle the web crate serves at
# /static/editor.js. The bundle is committed so that cargo build needs no Node:
# run this after changing src/ or package.json, and commit both.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npx esbuild src/editor.js --bundle --minify --format=iife --target=es2020 \
  --legal-comments=eof --outfile=../assets/editor.js
