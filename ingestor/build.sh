#!/usr/bin/env bash
# Bundles the ingestor into ingestor/dist/main.js (the Docker build context is ingestor/, and the
# contract module lives in lib/). Runs before every `cdk synth` (cdk.json "build").
set -euo pipefail
cd "$(dirname "$0")/.."
npx esbuild ingestor/src/main.ts --bundle --platform=node --target=node22 --format=cjs \
  --outfile=ingestor/dist/main.js --sourcemap --log-level=warning \
  --external:zlib-sync --external:bufferutil --external:utf-8-validate \
  --define:import.meta.url=__import_meta_url \
  --banner:js="const __import_meta_url = require('node:url').pathToFileURL(__filename).href;"
