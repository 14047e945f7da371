#!/usr/bin/env bash
# `npm run local`: sets up what it needs on a fresh clone (npm dependencies, local services),
# then runs the whole pipeline locally against the Discord simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
# this machine runs Node 20; the SDK's notice that releases after January 2027 need Node 22 is known (Lambda and the image run 22)
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

echo "== local services"
bash local/env.sh up

if [ -f local/pipeline.ts ]; then
  exec npx tsx local/pipeline.ts "$@"
fi
echo
echo "The local pipeline is not built yet (issue: 'The whole pipeline locally')."
echo "The local services above are up; 'npm test' runs every test against them."
