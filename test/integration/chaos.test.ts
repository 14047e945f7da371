/**
 * The fault matrix's cases marked for the test suite (local/chaos/cases.ts; `npm run chaos` runs them
 * all and prints the table): the real ingestor process against the simulator and the AWS endpoint,
 * loss counted from the simulator's ledger. Each case's moments are random; the seed is printed.
 */
import { describe, expect, it } from 'vitest';
import { CASES } from '../../local/chaos/cases';

const seed = Date.now() % 1_000_000;
let state = seed;
const rand = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

describe(`zero loss under faults (seed ${seed})`, () => {
  for (const c of CASES.filter((x) => x.inTestSuite)) {
    it(`${c.name}: lost 0, nothing wrongly dead-lettered, identifies only where Discord forced them, no crash`, async () => {
      const r = await c.run(rand);
      console.info(`chaos ${JSON.stringify(r)}`);
      expect(r.routed).toBeGreaterThan(0);
      expect({ lost: r.lost, wronglyDeadLettered: r.wronglyDeadLettered, unforcedIdentifies: r.unforcedIdentifies, crashes: r.crashes }).toEqual({ lost: 0, wronglyDeadLettered: 0, unforcedIdentifies: 0, crashes: 0 });
    }, 240_000);
  }
});
