import { describe, expect, it } from 'vitest';
import { IngestorMetrics } from '../../../ingestor/src/metrics';

describe('per-shard EMF', () => {
  it('writes one document per shard with events, heartbeat, state and reconnects, and ProcessStarts once', () => {
    const lines: string[] = [];
    const m = new IngestorMetrics('NS', '0-1', (l) => lines.push(l));
    m.onShardState('1', 0, 'ready');
    m.onShardState('1', 1, 'reconnecting');
    m.onPublished(5, 0);
    m.onPublished(6, 0);
    m.onHeartbeat(40, 0);
    m.onHeartbeat(90, 1);
    m.flushEmf();
    const docs = lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][] }> } });
    expect(docs[0]).toMatchObject({ ShardGroup: '0-1', ProcessStarts: 1, ShardReconnects: 1 });
    const shards = docs.filter((d) => d._aws.CloudWatchMetrics[0]!.Dimensions[0]!.includes('Shard'));
    expect(shards).toHaveLength(2);
    expect(shards.find((d) => d.Shard === '0')).toMatchObject({ ShardEvents: 2, ShardHeartbeatMs: [40], ShardReady: 1, ShardReconnects: 0 });
    expect(shards.find((d) => d.Shard === '1')).toMatchObject({ ShardEvents: 0, ShardHeartbeatMs: [90], ShardReady: 0, ShardReconnects: 1 });
    lines.length = 0;
    m.flushEmf();
    const again = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(again[0]).toMatchObject({ ProcessStarts: 0, ShardReconnects: 0 });
    expect(again.find((d) => d.Shard === '0')).toMatchObject({ ShardEvents: 0, ShardHeartbeatMs: 0, ShardReady: 1 });
  });
});
