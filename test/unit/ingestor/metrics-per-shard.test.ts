import { describe, expect, it } from 'vitest';
import { IngestorMetrics } from '../../../ingestor/src/metrics';

describe('per-shard EMF', () => {
  it('writes one document per shard with events, heartbeat, state and reconnects, and ProcessStarts once', () => {
    const lines: string[] = [];
    const m = new IngestorMetrics('NS', '0-1', (l) => lines.push(l));
    m.onShardState('1', 0, 'ready');
    m.onShardState('1', 1, 'reconnecting');
    m.onShardState('2', 0, 'connecting');
    m.onPublished(5, 0, '1');
    m.onPublished(6, 0, '1');
    m.onPublished(7, 0, '2');
    m.onHeartbeat(40, 0, '1');
    m.onHeartbeat(90, 1, '1');
    m.flushEmf();
    const docs = lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Dimensions: string[][] }> } });
    expect(docs[0]).toMatchObject({ ShardGroup: '0-1', ProcessStarts: 1, ShardReconnects: 1 });
    const shards = docs.filter((d) => d._aws.CloudWatchMetrics[0]!.Dimensions[0]!.includes('Shard'));
    // two applications' shard 0 are two series: dimension Application
    expect(shards).toHaveLength(3);
    expect(shards[0]!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['ShardGroup', 'Application', 'Shard']]);
    expect(shards.find((d) => d.Application === '1' && d.Shard === '0')).toMatchObject({ ShardEvents: 2, ShardHeartbeatMs: [40], ShardReady: 1, ShardReconnects: 0 });
    expect(shards.find((d) => d.Application === '1' && d.Shard === '1')).toMatchObject({ ShardEvents: 0, ShardHeartbeatMs: [90], ShardReady: 0, ShardReconnects: 1 });
    expect(shards.find((d) => d.Application === '2' && d.Shard === '0')).toMatchObject({ ShardEvents: 1, ShardReady: 0 });
    lines.length = 0;
    m.flushEmf();
    const again = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(again[0]).toMatchObject({ ProcessStarts: 0, ShardReconnects: 0 });
    expect(again.find((d) => d.Application === '1' && d.Shard === '0')).toMatchObject({ ShardEvents: 0, ShardHeartbeatMs: 0, ShardReady: 1 });
  });

  it('writes gateway commands by opcode and refusals by opcode and reason, as deltas per interval, and shards owned/unowned per application', () => {
    const lines: string[] = [];
    const m = new IngestorMetrics('NS', '0-1', (l) => lines.push(l));
    m.onCommandSent(8, 120);
    m.onCommandSent(8, 30);
    m.onCommandSent(3, 5);
    m.onCommandRefused(undefined, 'Unreadable');
    m.appShards.set('111', { owned: 3, total: 4 });
    m.flushEmf();
    const docs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(docs.filter((d) => 'GatewayCommandsSent' in d).map((d) => [d.Opcode, d.GatewayCommandsSent])).toEqual([
      ['8', 2],
      ['3', 1],
    ]);
    expect(docs.find((d) => 'GatewayCommandWaitMs' in d)?.GatewayCommandWaitMs).toEqual([120, 30, 5]);
    expect(docs.find((d) => 'GatewayCommandsRefused' in d)).toMatchObject({ Opcode: 'unknown', Reason: 'Unreadable', GatewayCommandsRefused: 1 });
    expect(docs.find((d) => d.Application === '111' && 'ShardsOwned' in d)).toMatchObject({ ShardsOwned: 3, ShardsUnowned: 1 });
    lines.length = 0;
    m.onCommandSent(8, 1);
    m.flushEmf();
    const again = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(again.filter((d) => 'GatewayCommandsSent' in d).map((d) => [d.Opcode, d.GatewayCommandsSent])).toEqual([['8', 1]]);
    expect(again.some((d) => 'GatewayCommandsRefused' in d)).toBe(false);
  });
});
