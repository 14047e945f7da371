import { afterEach, describe, expect, it, vi } from 'vitest';
import { countOutcome, metrics } from '../../../lambdas/shared/metrics';

/** The part of an Embedded Metric Format document this test reads: metric values at the top level. */
type EmfDocument = Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string }[] } };

describe('worker metrics', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes one EMF document with the outcome count and the age on arrival', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    countOutcome('Interaction', 'expired', 3500);
    countOutcome('Interaction', 'unknown-command');
    metrics.publishStoredMetrics();
    const doc = JSON.parse(lines.find((l) => l.includes('"_aws"'))!) as EmfDocument;
    expect(doc.InteractionExpired).toBe(1);
    expect(doc.InteractionUnknownCommand).toBe(1);
    expect(doc.InteractionAgeOnArrivalMs).toBe(3500);
    expect(doc._aws.CloudWatchMetrics[0]!.Namespace).toBe('DiscordGatewayProxy/Workers');
  });
});
