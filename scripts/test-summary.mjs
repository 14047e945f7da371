// Prints vitest's totals as one plain line, `N passed, N failed[, N skipped]`, from its JSON
// reporter output: one file, or several (vitest processes run side by side) added up. Exits non-zero
// when results are missing or nothing ran.
import { readFileSync } from 'node:fs';

const files = process.argv.length > 2 ? process.argv.slice(2) : ['.vitest-results.json'];
const results = [];
for (const file of files) {
  try {
    results.push(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    console.error(`no vitest results in ${file} (${e.message}): vitest did not finish`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}
const sum = (f) => results.reduce((n, r) => n + f(r), 0);
// files that failed to load count as failures too (their tests never ran)
const brokenFiles = sum((r) => (r.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length);
const passed = sum((r) => r.numPassedTests ?? 0);
const failed = sum((r) => r.numFailedTests ?? 0) + brokenFiles;
const skipped = sum((r) => (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0));
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
if (passed + failed === 0) {
  console.error('no test ran');
  process.exit(1);
}
process.exit(failed > 0 ? 1 : 0);
