/**
 * `npm run chaos [-- --only=name,name] [--seed=N]`: the ingestor's fault matrix against the real
 * process, the simulator and the local AWS endpoint; prints one table (case, routed, delivered,
 * dead-lettered, lost, duplicated, identifies, resumes) and exits non-zero if any case lost an event,
 * dead-lettered one that could have been published, identified without Discord forcing it, or crashed.
 */
import { CASES } from './cases';
import type { ChaosResult } from './world';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',');
const seed = Number(process.argv.find((a) => a.startsWith('--seed='))?.slice(7) ?? Date.now() % 1_000_000);

/** mulberry32: a small seeded generator, so a run can be repeated with --seed */
function rng(a: number): () => number {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const failed = (r: ChaosResult): boolean => r.lost > 0 || r.wronglyDeadLettered > 0 || r.unforcedIdentifies > 0 || r.crashes > 0;

export function table(rows: ChaosResult[]): string {
  const head = ['case', 'routed', 'delivered', 'dead-lettered', 'lost', 'wrongly dead-lettered', 'duplicated', 'identifies', 'unforced identifies', 'resumes', 'crashes', 's'];
  const cells = rows.map((r) => [r.case, r.routed, r.delivered, r.deadLettered, r.lost, r.wronglyDeadLettered, r.duplicated, r.identifies, r.unforcedIdentifies, r.resumes, r.crashes, r.seconds].map(String));
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]?.length ?? 0)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(w[i] ?? 0) : x.padStart(w[i] ?? 0))).join(' | ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('-|-'), ...cells.map(line)].join('\n');
}

async function main() {
  const rand = rng(seed);
  const picked = CASES.filter((c) => !only || only.includes(c.name));
  if (picked.length === 0) throw new Error(`no case named ${only?.join(', ')}; cases: ${CASES.map((c) => c.name).join(', ')}`);
  process.stderr.write(`[chaos] seed ${seed}, ${picked.length} cases\n`);
  const rows: ChaosResult[] = [];
  for (const c of picked) {
    process.stderr.write(`[chaos] ${c.name}: ${c.what}\n`);
    try {
      rows.push(await c.run(rand));
    } catch (err) {
      process.stderr.write(`[chaos] ${c.name} failed to run: ${(err as Error).message}\n`);
      rows.push({ case: `${c.name} (did not finish)`, routed: 0, delivered: 0, deadLettered: 0, lost: -1, wronglyDeadLettered: 0, duplicated: 0, identifies: 0, unforcedIdentifies: 0, resumes: 0, crashes: 1, seconds: 0 });
    }
    process.stderr.write(`[chaos]   ${JSON.stringify(rows.at(-1))}\n`);
  }
  console.log(table(rows));
  const bad = rows.filter(failed);
  console.log(bad.length ? `\n${bad.length} case(s) broke the zero-loss promise: ${bad.map((r) => r.case).join(', ')}` : `\nevery case: lost 0, nothing wrongly dead-lettered, identifies only where Discord forced them, no crash (seed ${seed})`);
  process.exit(bad.length ? 1 : 0);
}

if (require.main === module) void main();
