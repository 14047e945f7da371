#!/usr/bin/env bash
# Bundles the ingestor into ingestor/dist/main.js (the Docker build context is ingestor/, and the
# contract module lives in lib/). Runs before every `cdk synth` (cdk.json "build").
# Whitespace-minified, ASCII only, license comments in main.js.LEGAL.txt: V8 keeps the bundle's source
# on the heap, two bytes per character if a single character is not Latin-1 (a comment's ’ did it:
# 8.5 MiB), one byte otherwise (3.3 MiB). Identifiers are kept, so stack traces still name functions;
# main.js.map is there for `node --enable-source-maps` when debugging.
set -euo pipefail
cd "$(dirname "$0")/.."
npx esbuild ingestor/src/main.ts --bundle --platform=node --target=node22 --format=cjs \
  --outfile=ingestor/dist/main.js --sourcemap --log-level=warning --minify-whitespace --charset=ascii --legal-comments=external \
  --external:zlib-sync --external:bufferutil --external:utf-8-validate \
  --define:import.meta.url=__import_meta_url \
  --banner:js="const __import_meta_url = require('node:url').pathToFileURL(__filename).href;"
