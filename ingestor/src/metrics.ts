/**
 * The ingestor's numbers: counters and gauges, written as CloudWatch Embedded Metric Format lines on
 * stdout (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html)
 * and served as Prometheus text on /metrics.
 */
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

export class IngestorMetrics {
  received = 0;
  receivedByType = new Map<string, number>();
  published = 0;
  dropped = 0;
  failedEntries = 0;
  deadLettered = 0;
  refused = 0;
  claimChecked = 0;
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

  private static pct(values: number[], p: number): number {
    if (values.length === 0) return 0;
    const s = [...values].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
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
    };
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
    this.last = { received: this.received, published: this.published, dropped: this.dropped, failedEntries: this.failedEntries, byType: new Map(this.receivedByType) };
    this.latencySample.reset();
    this.heartbeatLatencies = [];
  }

  private last = { received: 0, published: 0, dropped: 0, failedEntries: 0, byType: new Map<string, number>() };
  private allLatencies: number[] = [];

  onPublished(latencyMs: number): void {
    this.published++;
    this.latencySample.add(latencyMs);
    this.allLatencies.push(latencyMs);
    if (this.allLatencies.length > 10_000) this.allLatencies.splice(0, 5_000);
  }

  /** Starts a new latency sample (benchmarks measure phases separately). */
  resetLatencies(): void {
    this.allLatencies = [];
  }

  latencyPercentiles(): { p50: number; p99: number } {
    return { p50: IngestorMetrics.pct(this.allLatencies, 50), p99: IngestorMetrics.pct(this.allLatencies, 99) };
  }

  prometheus(): string {
    const l: string[] = [];
    const counter = (name: string, help: string, v: number, labels = '') => l.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name}${labels} ${v}`);
    const gauge = (name: string, help: string, v: number) => l.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${v}`);
    l.push('# HELP gateway_events_received_total Dispatches received from Discord', '# TYPE gateway_events_received_total counter');
    for (const [t, n] of this.receivedByType) l.push(`gateway_events_received_total{type="${t}"} ${n}`);
    counter('gateway_events_published_total', 'Entries accepted by EventBridge', this.published);
    counter('gateway_events_dropped_total', 'Dispatches no tier wants, dropped before any AWS call', this.dropped);
    counter('gateway_publish_failed_entries_total', 'PutEvents entries that failed (retried or dead-lettered)', this.failedEntries);
    counter('gateway_events_dead_lettered_total', 'Entries EventBridge refused for good, in the dead-letter file', this.deadLettered);
    counter('gateway_events_refused_total', 'Events refused because buffer and spool were full (replayed after a restart)', this.refused);
    counter('gateway_claim_checked_total', 'Oversize events stored in S3', this.claimChecked);
    const p = this.latencyPercentiles();
    gauge('gateway_publish_latency_p50_ms', 'Receive to PutEvents accepted, p50 of recent events', p.p50);
    gauge('gateway_publish_latency_p99_ms', 'Receive to PutEvents accepted, p99 of recent events', p.p99);
    gauge('gateway_buffer_depth', 'Entries waiting in memory', this.gauges.bufferDepth);
    gauge('gateway_spool_depth', 'Entries waiting on disk', this.gauges.spoolDepth);
    gauge('gateway_publish_in_flight', 'PutEvents requests in flight', this.gauges.inFlight);
    gauge('gateway_shards_ready', 'Owned shards that are READY', this.gauges.shardsReady);
    gauge('gateway_shards_total', 'Owned shards', this.gauges.shardsTotal);
    const m = process.memoryUsage();
    gauge('process_resident_memory_bytes', 'Resident set size', m.rss);
    gauge('nodejs_heap_used_bytes', 'V8 heap in use', m.heapUsed);
    gauge('nodejs_heap_total_bytes', 'V8 heap reserved', m.heapTotal);
    gauge('nodejs_external_memory_bytes', 'Memory of buffers and other objects outside the V8 heap', m.external);
    return `${l.join('\n')}\n`;
  }
}
