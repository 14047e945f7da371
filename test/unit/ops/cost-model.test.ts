/** The shared cost model (scripts/ops/cost-model.ts) with plain numbers worked out by hand. */
import { describe, expect, it } from 'vitest';
import { costOf, costWithoutFilter, perMillion, type CostInput } from '../../../scripts/ops/cost-model';

// one million gateway events: 400,000 routed, 600,000 filtered; batches as the tiers take them
const input: CostInput = {
  published: 400_000,
  dropped: 600_000,
  queued: 400_000,
  workers: {
    member: { invocations: 3_000, durationMs: 1_200_000, memoryMb: 512 },
    guild: { invocations: 2_000, durationMs: 400_000, memoryMb: 512 },
    interaction: { invocations: 10_000, durationMs: 1_500_000, memoryMb: 512 },
  },
  fargate: { taskSeconds: 1000, vcpu: 0.25, memoryGb: 0.5 },
};

describe('cost model', () => {
  it('bills EventBridge per published entry, SQS per send plus receive and delete per batch, Lambda requests and GB-seconds, Fargate by the hour', () => {
    const c = costOf(input);
    expect(c.eventBridge).toBeCloseTo(0.4, 10); // 400,000 x $1/M
    expect(c.sqs).toBeCloseTo(0.172, 10); // (400,000 sends + 2 x 15,000 batches) x $0.40/M
    expect(c.lambda).toBeCloseTo(0.003 + 1550 * 0.0000133334, 10); // 15,000 requests; 3,100 s x 0.5 GB
    expect(c.fargate).toBeCloseTo((1000 / 3600) * (0.25 * 0.03238 + 0.5 * 0.00356), 10);
    expect(c.total).toBeCloseTo(c.eventBridge + c.sqs + c.lambda + c.fargate, 12);
    // the mappings' empty polls are requests too
    expect(costOf({ ...input, sqsEmptyReceives: 1_000_000 }).sqs).toBeCloseTo(0.172 + 0.4, 10);
  });

  it("prices the filter's saving as the dropped events' EventBridge bill, nothing else", () => {
    const without = costWithoutFilter(input);
    expect(without.eventBridge).toBeCloseTo(1.0, 10);
    expect(without.total - costOf(input).total).toBeCloseTo(0.6, 10);
    expect(without.sqs).toBe(costOf(input).sqs);
  });

  it('scales to one million routed events, and says why when there were none', () => {
    const m = perMillion(costOf(input), input.published);
    expect(m.eventBridge).toBeCloseTo(1.0, 10);
    expect(m.total).toBeCloseTo(costOf(input).total * 2.5, 10);
    expect(() => perMillion(costOf(input), 0)).toThrow(/routed no events/);
  });

  it('counts memory as configured: a 1,024 MB worker costs twice the GB-seconds of a 512 MB one', () => {
    const one = (memoryMb: number) => costOf({ ...input, workers: { w: { invocations: 0, durationMs: 1_000_000, memoryMb } } }).lambda;
    expect(one(1024)).toBeCloseTo(2 * one(512), 12);
  });
});
