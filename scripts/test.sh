#!/usr/bin/env bash
# The README's test command (`npm test`): installs what it needs, starts the local services,
# checks format and lint (zero warnings), type-checks, runs every vitest project, and ends with one plain line `N passed, N failed`
# computed from vitest's own JSON results (CI reads that line).
# Extra arguments go to vitest, e.g. `npm test -- --project unit`.
set -uo pipefail
cd "$(dirname "$0")/.."
# this machine runs Node 20; the SDK's notice that releases after January 2027 need Node 22 is known (Lambda and the image run 22)
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

step() { printf '\n== %s\n' "$*"; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund || { echo "npm ci failed: see the output above" >&2; exit 1; }
fi

step "local services (local/env.sh up)"
bash local/env.sh up || { echo "the local environment did not start: see the message above" >&2; exit 1; }

# format, lint and type check side by side (each is one process on one core), each reported apart
step "format (prettier --check), lint (eslint, strict type-checked, zero warnings), type check (tsc --noEmit)"
checks=$(mktemp -d)
npx prettier --check --log-level warn "**/*.{ts,mjs,cjs}" >"$checks/format" 2>&1 &
format_pid=$!
npx eslint --max-warnings 0 . >"$checks/lint" 2>&1 &
lint_pid=$!
npx tsc --noEmit -p . >"$checks/types" 2>&1 &
types_pid=$!
failed=0
report() { # name pid hint
  if wait "$2"; then echo "$1: ok"; else cat "$checks/$1"; echo "$1 failed: $3" >&2; failed=1; fi
}
report format "$format_pid" "run npx prettier --write on the files above"
report lint "$lint_pid" "see the messages above"
report types "$types_pid" "see the errors above"
rm -rf "$checks"
[ "$failed" -eq 0 ] || exit 1

results=.vitest-results.json
lane2_results=.vitest-results-2.json
rm -f "$results" "$lane2_results"
if [ "$#" -gt 0 ]; then
  step "tests (vitest $*)"
  npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
  rc=$?
  node scripts/test-summary.mjs "$results" || rc=1
  exit "$rc"
fi

# Two vitest processes side by side: vitest runs every project that disables file parallelism in one
# queue, so the second lane of integration files (project integration-2, see vitest.config.ts) gets
# a process of its own; its output follows the other's.
step "tests (vitest: unit, cdk and integration; integration-2 beside them)"
lane2_log=$(mktemp)
npx vitest run --project integration-2 --reporter=default --reporter=json --outputFile.json="$lane2_results" >"$lane2_log" 2>&1 &
lane2_pid=$!
npx vitest run --project unit --project cdk --project integration --reporter=default --reporter=json --outputFile.json="$results"
rc=$?
wait "$lane2_pid" || rc=1
step "tests (vitest: integration-2, run beside the above)"
cat "$lane2_log"
rm -f "$lane2_log"
node scripts/test-summary.mjs "$results" "$lane2_results" || rc=1
exit "$rc"
