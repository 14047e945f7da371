import { describe, expect, it } from 'vitest';
import { EMF_MAX_VALUES, IngestorMetrics, Reservoir } from '../../../ingestor/src/metrics';

const emfDocs = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

describe('IngestorMetrics EMF', () => {
  it('never writes more than 100 values for a metric (CloudWatch drops the whole document past that), at any event rate', () => {
    const lines: string[] = [];
    const m = new IngestorMetrics('Gateway', 'g0', (l) => lines.push(l));
    for (let i = 0; i < 50_000; i++) m.onPublished(i % 997);
    for (let i = 0; i < 500; i++) m.heartbeatLatencies.push(40);
    m.flushEmf();
    const [doc] = emfDocs(lines);
    const directive = (doc!._aws as { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> }).CloudWatchMetrics[0]!;
    for (const { Name } of directive.Metrics) {
      const v = doc![Name];
      expect(v, Name).toBeDefined();
      if (Array.isArray(v)) expect(v.length, Name).toBeLessThanOrEqual(EMF_MAX_VALUES);
    }
    expect((doc!.PublishLatencyMs as number[]).length).toBe(EMF_MAX_VALUES);
    expect(doc!.EventsPublished).toBe(50_000);
  });

  it('starts a new sample each interval (the next document holds only the new latencies)', () => {
    const lines: string[] = [];
    const m = new IngestorMetrics('Gateway', 'g0', (l) => lines.push(l));
    for (let i = 0; i < 1000; i++) m.onPublished(5);
    m.flushEmf();
    for (let i = 0; i < 3; i++) m.onPublished(70);
    m.flushEmf();
    m.flushEmf();
    const docs = emfDocs(lines).filter((d) => 'PublishLatencyMs' in d);
    expect(docs[1]!.PublishLatencyMs).toEqual([70, 70, 70]);
    expect(docs[1]!.EventsPublished).toBe(3);
    expect(docs[2]!.PublishLatencyMs).toBe(0);
  });
});

describe('Reservoir', () => {
  it('keeps at most its size and samples the whole stream uniformly, not just its end', () => {
    // deterministic generator: the test must not depend on Math.random
    let x = 42;
    const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const r = new Reservoir(100, rnd);
    for (let i = 0; i < 100_000; i++) r.add(i);
    expect(r.values).toHaveLength(100);
    expect(r.seen).toBe(100_000);
    // a uniform sample of 0..99,999 has about half its values in the first half; "the last 100" has none
    const firstHalf = r.values.filter((v) => v < 50_000).length;
    expect(firstHalf).toBeGreaterThan(30);
    expect(firstHalf).toBeLessThan(70);
  });
});
