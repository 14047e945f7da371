/**
 * The ingestor's numbers: counters and gauges, written as CloudWatch Embedded Metric Format lines on
 * stdout (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
 * and the counters shown on /ready.
 */
import { INGESTOR_METRICS } from '../../lib/contract/metrics';

/**
 * EMF takes at most 100 values per metric in one document (the specification; the official
 * aws-embedded-metrics library splits documents at 100 too). A document over the limit is not turned
 * into metrics at all, so every number in it would be lost, not only the long array.
 */
export const EMF_MAX_VALUES = 100;

/** A uniform random sample of at most `size` values out of a stream of any length (Vitter's algorithm R). */
export class Reservoir {
  values: number[] = [];
  seen = 0;

  constructor(
    private readonly size: number,
    private readonly random: () => number = Math.random,
  ) {}

  add(v: number): void {
    this.seen++;
    if (this.values.length < this.size) {
      this.values.push(v);
      return;
    }
    const j = Math.floor(this.random() * this.seen);
    if (j < this.size) this.values[j] = v;
  }

  reset(): void {
    this.values = [];
    this.seen = 0;
  }
}

/** The counters since start, as /ready shows them. */
export interface IngestorCounters {
  received: number;
  published: number;
  dropped: number;
  failedEntries: number;
  claimChecked: number;
  deadLettered: number;
  deadLetteredByReason: Record<string, number>;
  backpressureEpisodes: number;
  discarded: number;
  reconnects: number;
}

export class IngestorMetrics {
  received = 0;
  receivedByType = new Map<string, number>();
  published = 0;
  dropped = 0;
  failedEntries = 0;
  deadLettered = 0;
  deadLetteredByReason = new Map<string, number>();
  claimChecked = 0;
  backpressureEpisodes = 0;
  /** entries of shards whose lease was lost, not published (their new owner RESUMEs before them) */
  discarded = 0;
  /** publish latencies of the current EMF interval: a sample, so memory stays flat at any event rate */
  private readonly latencySample = new Reservoir(EMF_MAX_VALUES);
  heartbeatLatencies: number[] = [];
  gauges = { bufferDepth: 0, spoolDepth: 0, shardsReady: 0, shardsTotal: 0, inFlight: 0 };

  constructor(
    private readonly namespace: string,
    private readonly shardGroup: string,
    private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  ) {}

  onReceived(type: string): void {
    this.received++;
    this.receivedByType.set(type, (this.receivedByType.get(type) ?? 0) + 1);
  }

  /** shard state changes by "appId/shardId": reconnects are the ones into 'reconnecting' */
  reconnects = 0;
  readonly shardStates = new Map<string, string>();

  /**
   * Per shard (seed sprint report S-4.5), one EMF document per shard and interval with the dimensions
   * [ShardGroup, Shard]: ShardEvents (published), ShardHeartbeatMs, ShardReady (1/0, its state),
   * ShardReconnects. Four metrics per shard: a 1,000-shard bot makes 4,000 custom metrics (docs/operate.md
   * has the cost). `Shard` is the shard id.
   */
  private readonly perShard = new Map<string, { events: number; heartbeats: number[]; reconnects: number }>();
  /** "<app id>/<shard id>": two applications' shard 0 are two series (dimension Application) */
  private shardKey(appId: string | undefined, shardId: number): string {
    return `${appId ?? ''}/${shardId}`;
  }
  private shard(key: string) {
    let s = this.perShard.get(key);
    if (!s) this.perShard.set(key, (s = { events: 0, heartbeats: [], reconnects: 0 }));
    return s;
  }

  onHeartbeat(latencyMs: number, shardId: number, appId?: string): void {
    if (this.heartbeatLatencies.length < 10 * EMF_MAX_VALUES) this.heartbeatLatencies.push(latencyMs);
    const h = this.shard(this.shardKey(appId, shardId)).heartbeats;
    if (h.length < EMF_MAX_VALUES) h.push(latencyMs);
  }

  onShardState(appId: string, shardId: number, state: string): void {
    if (state === 'reconnecting') {
      this.reconnects++;
      this.shard(this.shardKey(appId, shardId)).reconnects++;
    }
    this.shardStates.set(`${appId}/${shardId}`, state);
  }

  /** gateway commands: sent by opcode, the wait of each (sampled), dead-lettered by opcode and reason */
  readonly commandsSent = new Map<number, number>();
  private readonly commandWaits = new Reservoir(EMF_MAX_VALUES);
  readonly commandsRefused = new Map<string, number>();
  private lastCommands = { sent: new Map<number, number>(), refused: new Map<string, number>() };
  /** per application: shards with a live lease (any task's) and the set's shard count */
  readonly appShards = new Map<string, { owned: number; total: number }>();

  onCommandSent(op: number, waitMs: number): void {
    this.commandsSent.set(op, (this.commandsSent.get(op) ?? 0) + 1);
    this.commandWaits.add(waitMs);
  }

  onCommandRefused(op: number | undefined, reason: string): void {
    const k = `${op ?? 'unknown'}|${reason}`;
    this.commandsRefused.set(k, (this.commandsRefused.get(k) ?? 0) + 1);
  }

  /** the process started: the first EMF document says so once (ProcessStarts, the restart alarm's metric) */
  private started = true;

  onDropped(): void {
    this.dropped++;
  }

  onClaimChecked(): void {
    this.claimChecked++;
  }

  onDeadLettered(reason: string): void {
    this.deadLettered++;
    this.deadLetteredByReason.set(reason, (this.deadLetteredByReason.get(reason) ?? 0) + 1);
  }

  /** The counters since start, for /ready and tests. */
  counters(): IngestorCounters {
    return {
      received: this.received,
      published: this.published,
      dropped: this.dropped,
      failedEntries: this.failedEntries,
      claimChecked: this.claimChecked,
      deadLettered: this.deadLettered,
      deadLetteredByReason: Object.fromEntries(this.deadLetteredByReason),
      backpressureEpisodes: this.backpressureEpisodes,
      discarded: this.discarded,
      reconnects: this.reconnects,
    };
  }

  /** Writes one EMF document per interval with the counts since the last one. */
  flushEmf(): void {
    const ms = Date.now();
    const metrics = [
      ['EventsReceived', 'Count'],
      ['EventsPublished', 'Count'],
      ['EventsDropped', 'Count'],
      ['PublishFailedEntries', 'Count'],
      ['PublishLatencyMs', 'Milliseconds'],
      ['BufferDepth', 'Count'],
      ['SpoolDepth', 'Count'],
      ['ShardsReady', 'Count'],
      ['ShardsTotal', 'Count'],
      ['HeartbeatLatencyMs', 'Milliseconds'],
      ['ProcessStarts', 'Count'],
      ['ShardReconnects', 'Count'],
    ];
    const doc: Record<string, unknown> = {
      _aws: { Timestamp: ms, CloudWatchMetrics: [{ Namespace: this.namespace, Dimensions: [['ShardGroup']], Metrics: metrics.map(([Name, Unit]) => ({ Name, Unit })) }] },
      ShardGroup: this.shardGroup,
      EventsReceived: this.received - this.last.received,
      EventsPublished: this.published - this.last.published,
      EventsDropped: this.dropped - this.last.dropped,
      PublishFailedEntries: this.failedEntries - this.last.failedEntries,
      PublishLatencyMs: this.latencySample.values.length ? [...this.latencySample.values] : 0,
      BufferDepth: this.gauges.bufferDepth,
      SpoolDepth: this.gauges.spoolDepth,
      ShardsReady: this.gauges.shardsReady,
      ShardsTotal: this.gauges.shardsTotal,
      HeartbeatLatencyMs: this.heartbeatLatencies.length ? this.heartbeatLatencies.slice(-EMF_MAX_VALUES) : 0,
      ProcessStarts: this.started ? 1 : 0,
      ShardReconnects: this.reconnects - this.lastReconnects,
    };
    this.started = false;
    this.lastReconnects = this.reconnects;
    this.write(JSON.stringify(doc));
    // received by type: one more document with a Type dimension
    const byType = [...this.receivedByType.entries()];
    if (byType.length) {
      for (const [type, n] of byType) {
        const prev = this.last.byType.get(type) ?? 0;
        if (n === prev) continue;
        this.write(JSON.stringify({ _aws: { Timestamp: ms, CloudWatchMetrics: [{ Namespace: this.namespace, Dimensions: [['ShardGroup', 'Type']], Metrics: [{ Name: 'EventsReceived', Unit: 'Count' }] }] }, ShardGroup: this.shardGroup, Type: type, EventsReceived: n - prev }));
      }
    }
    // dead letters by reason: the alarm's metric (any value above 0 pages)
    for (const [reason, n] of this.deadLetteredByReason) {
      const prev = this.last.deadByReason.get(reason) ?? 0;
      if (n === prev) continue;
      this.write(
        JSON.stringify({
          _aws: { Timestamp: ms, CloudWatchMetrics: [{ Namespace: this.namespace, Dimensions: [['ShardGroup'], ['ShardGroup', 'Reason']], Metrics: [{ Name: 'EventsDeadLettered', Unit: 'Count' }] }] },
          ShardGroup: this.shardGroup,
          Reason: reason,
          EventsDeadLettered: n - prev,
        }),
      );
    }
    this.last = { received: this.received, published: this.published, dropped: this.dropped, failedEntries: this.failedEntries, byType: new Map(this.receivedByType), deadByReason: new Map(this.deadLetteredByReason) };
    this.flushPerShard(ms);
    this.flushCommands(ms);
    this.flushFleet(ms);
    this.latencySample.reset();
    this.heartbeatLatencies = [];
  }

  private lastReconnects = 0;

  private last = { received: 0, published: 0, dropped: 0, failedEntries: 0, byType: new Map<string, number>(), deadByReason: new Map<string, number>() };

  onPublished(latencyMs: number, shardId?: number, appId?: string): void {
    this.published++;
    this.latencySample.add(latencyMs);
    if (shardId !== undefined) this.shard(this.shardKey(appId, shardId)).events++;
  }

  private emf(ms: number, dimensions: string[][], metrics: Array<[string, string]>, values: Record<string, unknown>): void {
    this.write(JSON.stringify({ _aws: { Timestamp: ms, CloudWatchMetrics: [{ Namespace: this.namespace, Dimensions: dimensions, Metrics: metrics.map(([Name, Unit]) => ({ Name, Unit })) }] }, ...values }));
  }

  private flushCommands(ms: number): void {
    const { commandsSent: sent, commandWaitMs: wait, commandsRefused: refused } = INGESTOR_METRICS;
    for (const [op, n] of this.commandsSent) {
      const d = n - (this.lastCommands.sent.get(op) ?? 0);
      if (d > 0) this.emf(ms, [['Opcode']], [[sent, 'Count']], { Opcode: String(op), [sent]: d });
    }
    if (this.commandWaits.values.length > 0) this.emf(ms, [['ShardGroup']], [[wait, 'Milliseconds']], { ShardGroup: this.shardGroup, [wait]: [...this.commandWaits.values] });
    for (const [k, n] of this.commandsRefused) {
      const d = n - (this.lastCommands.refused.get(k) ?? 0);
      const [op, reason] = k.split('|');
      if (d > 0) this.emf(ms, [['Opcode', 'Reason']], [[refused, 'Count']], { Opcode: op, Reason: reason, [refused]: d });
    }
    this.lastCommands = { sent: new Map(this.commandsSent), refused: new Map(this.commandsRefused) };
    this.commandWaits.reset();
  }

  private flushFleet(ms: number): void {
    const { shardsOwned, shardsUnowned } = INGESTOR_METRICS;
    for (const [app, s] of this.appShards) {
      this.emf(
        ms,
        [['Application']],
        [
          [shardsOwned, 'Count'],
          [shardsUnowned, 'Count'],
        ],
        { Application: app, [shardsOwned]: s.owned, [shardsUnowned]: s.total - s.owned },
      );
    }
  }

  /** One document per shard with its numbers since the last interval. */
  private flushPerShard(ms: number): void {
    // both maps are keyed "<app id>/<shard id>"
    const states = this.shardStates;
    for (const key of new Set([...this.perShard.keys(), ...states.keys()])) {
      const s = this.perShard.get(key) ?? { events: 0, heartbeats: [], reconnects: 0 };
      const state = states.get(key);
      const slash = key.lastIndexOf('/');
      this.write(
        JSON.stringify({
          _aws: {
            Timestamp: ms,
            CloudWatchMetrics: [
              {
                Namespace: this.namespace,
                Dimensions: [['ShardGroup', 'Application', 'Shard']],
                Metrics: [
                  { Name: 'ShardEvents', Unit: 'Count' },
                  { Name: 'ShardHeartbeatMs', Unit: 'Milliseconds' },
                  { Name: 'ShardReady', Unit: 'None' },
                  { Name: 'ShardReconnects', Unit: 'Count' },
                ],
              },
            ],
          },
          ShardGroup: this.shardGroup,
          Application: key.slice(0, slash) || 'default',
          Shard: key.slice(slash + 1),
          ShardEvents: s.events,
          ShardHeartbeatMs: s.heartbeats.length ? [...s.heartbeats] : 0,
          ShardReady: state === 'ready' ? 1 : 0,
          ShardReconnects: s.reconnects,
          ShardState: state ?? 'unknown',
        }),
      );
      s.events = 0;
      s.heartbeats = [];
      s.reconnects = 0;
    }
  }
}
