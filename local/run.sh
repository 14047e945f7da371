#!/usr/bin/env bash
# `npm run local`: sets up what it needs on a fresh clone (npm dependencies, local services), deploys
# the local stage with `cdk deploy` to the AWS emulator (which runs the workers), then runs the whole
# pipeline against the Discord simulator (local/pipeline/main.ts).
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

exec npx tsx local/pipeline/main.ts "$@"
