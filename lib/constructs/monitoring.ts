/**
 * One dashboard and the alarms, with cdk-monitoring-constructs where it covers the resource (SQS with
 * DLQ, Lambda, Fargate, ElastiCache) and by hand where it does not (the ingestor's own metrics, RDS
 * Proxy). Alarms go to an SNS topic, with an email subscription when configured.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import { AlarmFactoryDefaults, ElastiCacheClusterType, MonitoringFacade, SnsAlarmActionStrategy } from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import { DEFAULT_ALARM_THRESHOLDS, loadAlarmThresholds, type AlarmThresholds } from '../config/app-config';
import { INGESTOR_METRICS, WORKER_METRICS_NAMESPACE, type TierName, type TierRoute } from '../contract';
import { INGESTOR_METRICS_NAMESPACE, type IngestorService } from './ingestor-service';
import type { TierResources } from './tiered-event-bus';

export interface GatewayMonitoringProps {
  readonly envName: string;
  readonly tiers: Readonly<Partial<Record<TierName, TierResources>>>;
  readonly functions: Readonly<Partial<Record<string, lambda.IFunction>>>;
  readonly ingestors: readonly IngestorService[];
  readonly redisReplicationGroupId?: string;
  /** nodes in the replication group @default 2 */
  readonly redisNodeCount?: number;
  readonly proxyName?: string;
  readonly alarmEmail?: string;
  /** oldest interaction message age that alarms @default 2 */
  readonly interactionMaxAgeSeconds?: number;
  /** oldest message age of the other tiers that alarms @default 300 */
  readonly tierMaxAgeSeconds?: number;
  /** the PRD 8.2 thresholds @default CDK context / environment (loadAlarmThresholds), else DEFAULT_ALARM_THRESHOLDS */
  readonly alarms?: Partial<AlarmThresholds>;
}

/**
 * PRD 8.2, row by row, and the construct ids of the alarms that implement each (`<g>` a shard group,
 * `<tier>` a consumed tier, `<fn>` a worker, `<n>` a Redis node). Template tests check one alarm per
 * row with its threshold and the SNS action; docs/deploy.md has a runbook line for each.
 */
export const PRD_ALERTS = [
  { row: 'ingestor disconnect: a shard not READY > 1 min', alarm: 'Ingestor<g>ShardsNotReady', threshold: 'shardNotReadyMinutes' },
  { row: 'ingestor OOM / task restarts', alarm: 'Ingestor<g>Restarts', threshold: 'ingestorStartsPer15Min' },
  { row: 'ingestor memory > 80 %', alarm: 'Ingestor<g>Memory', threshold: 'ingestorMemoryPercent' },
  { row: 'queue backlog > 1,000 per tier', alarm: 'Queue<tier>Backlog', threshold: 'queueBacklogMessages' },
  { row: 'DLQ > 0 per tier', alarm: '<tier>-queue DLQ (facade)', threshold: '0' },
  { row: 'worker latency p99 > 1 s', alarm: 'Worker<fn>LatencyP99', threshold: 'workerP99Ms' },
  { row: 'worker errors > 1 %', alarm: 'Worker<fn>ErrorRate', threshold: 'workerErrorRatePercent' },
  { row: 'Redis memory > 80 %', alarm: 'RedisNode<n>Memory', threshold: 'redisMemoryPercent' },
  { row: 'Redis connections > 1,000', alarm: 'RedisNode<n>Connections', threshold: 'redisConnections' },
  { row: 'ingestor dead letters > 0', alarm: 'Ingestor<g>DeadLetters', threshold: '0' },
  { row: 'spool growing', alarm: 'Ingestor<g>SpoolGrowing', threshold: '0' },
] as const;

/**
 * Age of the oldest message that alarms for a tier: `interactionMaxAgeSeconds` for interactions
 * (Discord's 3 s window), `tierMaxAgeSeconds` for the other consumed tiers, and for a tier nobody
 * consumes (bulk) 80 % of its retention: there the alarm means "about to expire unread", not "backlog".
 */
export function tierMaxAgeAlarmSeconds(route: TierRoute, props: { readonly interactionMaxAgeSeconds?: number; readonly tierMaxAgeSeconds?: number }): number {
  if (route.name === 'interactions') return props.interactionMaxAgeSeconds ?? 2;
  if (route.consumer === null) return Math.floor(0.8 * route.queue.retentionSeconds);
  return props.tierMaxAgeSeconds ?? 300;
}

/** Minutes a shard may stay without an owner before FleetShardsUnowned alarms. */
export const FLEET_UNOWNED_MINUTES = 3;

export class GatewayMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly facade: MonitoringFacade;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly thresholds: AlarmThresholds;

  constructor(scope: Construct, id: string, props: GatewayMonitoringProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Alarms', { displayName: `Discord gateway proxy alarms (${props.envName})`, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    const alarmFactoryDefaults: AlarmFactoryDefaults = {
      alarmNamePrefix: `gateway-${props.envName}`,
      actionsEnabled: true,
      action: new SnsAlarmActionStrategy({ onAlarmTopic: this.topic }),
      datapointsToAlarm: 1,
    };
    this.facade = new MonitoringFacade(this, 'Facade', { alarmFactoryDefaults, metricFactoryDefaults: {}, dashboardFactory: undefined });
    this.facade.addLargeHeader(`Discord gateway proxy (${props.envName})`);
    const th: AlarmThresholds = { ...DEFAULT_ALARM_THRESHOLDS, ...(props.alarms ?? loadAlarmThresholds((k) => this.node.tryGetContext(k))) };
    this.thresholds = th;
    this.kpis(props);
    this.monitorIngestors(props.ingestors, th);
    this.monitorTiers(props, th);
    this.monitorWorkers(props.functions, th);
    if (props.redisReplicationGroupId) this.monitorRedis(props.redisReplicationGroupId, props.redisNodeCount ?? 2, th);
    if (props.proxyName) this.monitorProxy(props.proxyName);
    this.monitorCommandsAndFleet(props.ingestors);
  }

  /** The ingestor's own metrics (EMF, dimension ShardGroup) and its Fargate service, per shard group. */
  private monitorIngestors(ingestors: readonly IngestorService[], th: AlarmThresholds): void {
    const ing = (metricName: string, group: string, statistic = 'Sum', minutes = 1) => new cloudwatch.Metric({ namespace: INGESTOR_METRICS_NAMESPACE, metricName, dimensionsMap: { ShardGroup: group }, statistic, period: Duration.minutes(minutes) });
    for (const i of ingestors) {
      const g = i.shardGroup;
      this.facade.monitorSimpleFargateService({ fargateService: i.service, humanReadableName: `Ingestor ${g}`, alarmFriendlyName: `ingestor-${g}` });
      this.facade.monitorCustom({
        alarmFriendlyName: `ingestor-${g}-events`,
        humanReadableName: `Ingestor ${g}: events and publishing`,
        metricGroups: [
          { title: 'Events in / out / dropped', metrics: [ing('EventsReceived', g), ing('EventsPublished', g), ing('EventsDropped', g)] },
          { title: 'Publish latency (ms)', metrics: [ing('PublishLatencyMs', g, 'p50'), ing('PublishLatencyMs', g, 'p99')] },
          { title: 'Failed entries / dead-lettered (S3)', metrics: [ing('PublishFailedEntries', g), ing('EventsDeadLettered', g)] },
          { title: 'Buffer and spool depth', metrics: [ing('BufferDepth', g, 'Maximum'), ing('SpoolDepth', g, 'Maximum')] },
          { title: 'Shards ready / total', metrics: [ing('ShardsReady', g, 'Minimum'), ing('ShardsTotal', g, 'Maximum')] },
          { title: 'Heartbeat latency (ms)', metrics: [ing('HeartbeatLatencyMs', g, 'p99')] },
        ],
      });
      const notReady = new cloudwatch.MathExpression({
        expression: 'FILL(total, 1) - FILL(ready, 0)',
        usingMetrics: { ready: ing('ShardsReady', g, 'Minimum'), total: ing('ShardsTotal', g, 'Maximum') },
        period: Duration.minutes(1),
        label: 'shards not ready',
      });
      // missing data breaches: an ingestor that stopped reporting is not serving its shards
      this.alarm(`Ingestor${g}ShardsNotReady`, notReady, 0, th.shardNotReadyMinutes, `ingestor ${g}: a shard is not READY for ${th.shardNotReadyMinutes} minute(s) (fatal close code, reconnect loop, or the task is down)`, cloudwatch.TreatMissingData.BREACHING);
      // every process start writes ProcessStarts = 1 (ingestor/src/metrics.ts): more than one in 15 minutes is an OOM kill or crash loop
      this.alarm(`Ingestor${g}Restarts`, ing('ProcessStarts', g, 'Sum', 15), th.ingestorStartsPer15Min, 1, `ingestor ${g}: more than ${th.ingestorStartsPer15Min} process start(s) in 15 minutes (OOM kill, crash loop): see the stopped task's reason in ECS`);
      this.alarm(`Ingestor${g}Memory`, i.service.metricMemoryUtilization({ period: Duration.minutes(1), statistic: 'Maximum' }), th.ingestorMemoryPercent, 3, `ingestor ${g}: task memory above ${th.ingestorMemoryPercent} % for 3 minutes`);
      const spoolGrowth = new cloudwatch.MathExpression({
        expression: 'RATE(spool)',
        usingMetrics: { spool: ing('SpoolDepth', g, 'Maximum') },
        period: Duration.minutes(1),
        label: 'spool growth per second',
      });
      this.alarm(`Ingestor${g}SpoolGrowing`, spoolGrowth, 0, 5, `ingestor ${g}: the disk spool grows: EventBridge is rejecting or unreachable`);
      // any event the ingestor could never publish (refused for good, malformed, corrupt spool record):
      // stored under ingestor-dead-letters/<day>/<reason>/ in the dead-letter bucket; the Reason dimension says which
      this.alarm(`Ingestor${g}DeadLetters`, ing('EventsDeadLettered', g), 0, 1, `ingestor ${g}: events were dead-lettered to S3 (ingestor-dead-letters/<day>/<reason>/): see docs/deploy.md for what each reason means`);
    }
  }

  /** Each tier's queue, its DLQ and its rule target's DLQ. */
  private monitorTiers(props: GatewayMonitoringProps, th: AlarmThresholds): void {
    for (const tier of Object.values(props.tiers)) {
      const n = tier.route.name;
      const maxAge = tierMaxAgeAlarmSeconds(tier.route, props);
      this.facade.monitorSqsQueueWithDlq({
        queue: tier.queue,
        deadLetterQueue: tier.deadLetterQueue,
        humanReadableName: `${n} queue`,
        alarmFriendlyName: `${n}-queue`,
        addQueueMaxMessageAgeAlarm: { Critical: { maxAgeInSeconds: maxAge } },
        addDeadLetterQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });
      // a backlog pages for consumed tiers; bulk has no consumer, its age alarm covers it
      if (tier.route.consumer !== null) {
        this.alarm(
          `Queue${n}Backlog`,
          tier.queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
          th.queueBacklogMessages,
          5,
          `${n} queue: more than ${th.queueBacklogMessages} messages waiting for 5 minutes: raise the tier's maxConcurrency or look at worker errors`,
        );
      }
      this.facade.monitorSqsQueue({
        queue: tier.targetDeadLetterQueue,
        humanReadableName: `${n} rule target DLQ`,
        alarmFriendlyName: `${n}-target-dlq`,
        addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });
    }
  }

  /** Each worker's throttles, error rate and p99 duration. */
  private monitorWorkers(functions: GatewayMonitoringProps['functions'], th: AlarmThresholds): void {
    for (const [name, fn] of Object.entries(functions)) {
      if (!fn) continue;
      this.facade.monitorLambdaFunction({
        lambdaFunction: fn,
        humanReadableName: `${name} worker`,
        alarmFriendlyName: `${name}-worker`,
        addThrottlesCountAlarm: { Critical: { maxErrorCount: 0 } },
      });
      const errorRate = new cloudwatch.MathExpression({
        expression: '100 * FILL(errors, 0) / IF(FILL(invocations, 0) > 0, invocations, 1)',
        usingMetrics: { errors: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), invocations: fn.metricInvocations({ period: Duration.minutes(5), statistic: 'Sum' }) },
        period: Duration.minutes(5),
        label: 'errors, % of invocations',
      });
      this.alarm(`Worker${name}ErrorRate`, errorRate, th.workerErrorRatePercent, 1, `${name} worker: errors above ${th.workerErrorRatePercent} % of invocations over 5 minutes: logs (npm run trace), then the DLQ`);
      this.alarm(`Worker${name}LatencyP99`, fn.metricDuration({ period: Duration.minutes(5), statistic: 'p99' }), th.workerP99Ms, 1, `${name} worker: duration p99 above ${th.workerP99Ms} ms over 5 minutes`);
    }
  }

  private monitorRedis(replicationGroupId: string, nodeCount: number, th: AlarmThresholds): void {
    // ElastiCache publishes per node (CacheClusterId = <replication group>-00N), not per replication group
    for (let n = 1; n <= nodeCount; n++) {
      const node = `${replicationGroupId}-${String(n).padStart(3, '0')}`;
      this.facade.monitorElastiCacheCluster({
        clusterType: ElastiCacheClusterType.REDIS,
        clusterId: node,
        humanReadableName: `Redis node ${n}`,
        alarmFriendlyName: `redis-node-${n}`,
        addRedisEngineCpuUsageAlarm: { Warning: { maxUsagePercent: 80 } },
        addMinFreeableMemoryAlarm: { Warning: { minFreeableMemoryInBytes: 100 * 1024 * 1024 } },
      });
      const ec = (metricName: string) => new cloudwatch.Metric({ namespace: 'AWS/ElastiCache', metricName, dimensionsMap: { CacheClusterId: node }, statistic: 'Maximum', period: Duration.minutes(1) });
      this.alarm(`RedisNode${n}Memory`, ec('DatabaseMemoryUsagePercentage'), th.redisMemoryPercent, 5, `Redis node ${n}: memory above ${th.redisMemoryPercent} % of maxmemory for 5 minutes: resize redisNodeType or look for keys without TTL`);
      this.alarm(`RedisNode${n}Connections`, ec('CurrConnections'), th.redisConnections, 5, `Redis node ${n}: more than ${th.redisConnections} connections for 5 minutes: Lambda concurrency grew (each container holds one)`);
    }
  }

  private monitorProxy(proxyName: string): void {
    const px = (metricName: string, statistic = 'Maximum') => new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { ProxyName: proxyName }, statistic, period: Duration.minutes(1) });
    this.facade.monitorCustom({
      alarmFriendlyName: 'rds-proxy',
      humanReadableName: 'RDS Proxy',
      metricGroups: [
        { title: 'Connections', metrics: [px('ClientConnections'), px('DatabaseConnections')] },
        { title: 'Pinned sessions', metrics: [px('DatabaseConnectionsCurrentlySessionPinned')] },
      ],
    });
    // transaction-local set_config may pin for the transaction (DESIGN.md section 7): alarm when it lasts
    this.alarm('ProxyPinnedSessions', px('DatabaseConnectionsCurrentlySessionPinned', 'Average'), 5, 5, 'RDS Proxy: connections stay pinned (long tenant transactions?)');
  }

  /**
   * Gateway commands (issue 16) and the fleet (issue 14), from the ingestor's EMF metrics
   * (INGESTOR_METRICS) and the workers' queued/refused counts. Opcodes, reasons and applications are
   * known only at run time (applications are data in Redis), so the graphs are SEARCH expressions over
   * each metric's dimension set, exactly the set its writer uses: the ingestor's Opcode; ShardGroup;
   * Opcode and Reason; Application, and the workers' Opcode with Powertools' service dimension.
   */
  private monitorCommandsAndFleet(ingestors: readonly IngestorService[]): void {
    const m = INGESTOR_METRICS;
    const search = (namespace: string, dimensions: string, metricName: string, statistic: string, label: string) =>
      new cloudwatch.MathExpression({ expression: `SEARCH('{${namespace},${dimensions}} MetricName="${metricName}"', '${statistic}', 60)`, usingMetrics: {}, period: Duration.minutes(1), label });
    const wait = (g: string, statistic: string) => new cloudwatch.Metric({ namespace: INGESTOR_METRICS_NAMESPACE, metricName: m.commandWaitMs, dimensionsMap: { ShardGroup: g }, statistic, period: Duration.minutes(1), label: `${g} ${statistic}` });
    const widgets: cloudwatch.IWidget[] = [
      new cloudwatch.GraphWidget({
        title: 'Gateway commands by opcode: queued by workers / sent on the shard',
        left: [search(WORKER_METRICS_NAMESPACE, 'Opcode,service', 'GatewayCommandsQueued', 'Sum', 'queued'), search(INGESTOR_METRICS_NAMESPACE, 'Opcode', m.commandsSent, 'Sum', 'sent')],
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({ title: 'Gateway command wait, queued to sent (ms)', left: ingestors.flatMap((i) => [wait(i.shardGroup, 'p50'), wait(i.shardGroup, 'p99')]), width: 8, height: 6 }),
      new cloudwatch.GraphWidget({
        title: 'Gateway commands refused: by the ingestor (opcode, reason) / by the sender',
        left: [search(INGESTOR_METRICS_NAMESPACE, 'Opcode,Reason', m.commandsRefused, 'Sum', 'refused'), search(WORKER_METRICS_NAMESPACE, 'Opcode,service', m.commandsRefused, 'Sum', 'refused by the sender')],
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Shards per application: owned / unowned',
        // every task reports each application's counts: the Maximum over tasks is the fleet's number
        left: [search(INGESTOR_METRICS_NAMESPACE, 'Application', m.shardsOwned, 'Maximum', 'owned'), search(INGESTOR_METRICS_NAMESPACE, 'Application', m.shardsUnowned, 'Maximum', 'unowned')],
        width: 12,
        height: 6,
      }),
    ];
    // one series over every application (a Metrics Insights query, since the applications are data):
    // a shard without an owner for 3 minutes means its events wait at Discord
    const unowned = new cloudwatch.MathExpression({
      expression: `SELECT MAX(${m.shardsUnowned}) FROM SCHEMA("${INGESTOR_METRICS_NAMESPACE}", Application)`,
      usingMetrics: {},
      period: Duration.minutes(1),
      label: 'unowned shards (the application with the most)',
    });
    const alarm = this.alarm(
      'FleetShardsUnowned',
      unowned,
      0,
      FLEET_UNOWNED_MINUTES,
      `fleet: a shard of an application has had no owner for ${FLEET_UNOWNED_MINUTES} minutes (tasks down or too few for the shards, leases not renewed): the dashboard's shards per application says which; docs/deploy.md`,
    );
    widgets.push(new cloudwatch.AlarmWidget({ title: 'Unowned shards (alarm)', alarm, width: 12, height: 6 }));
    this.facade.addLargeHeader('Gateway commands and the fleet');
    this.facade.addSegment({ widgets: () => widgets, alarmWidgets: () => [], summaryWidgets: () => [] });
  }

  /**
   * The KPIs of PRD 8.1 in one row at the top of the dashboard: disconnections per day (shard
   * reconnects), processing p99, error rate, steady queue depth and ingestor memory.
   */
  private kpis(props: GatewayMonitoringProps): void {
    const groups = props.ingestors.map((i) => i.shardGroup);
    const sumOver = (metricName: string, statistic: string, period: Duration) =>
      groups.map((g, k) => [`${metricName.charAt(0).toLowerCase()}${k}`, new cloudwatch.Metric({ namespace: INGESTOR_METRICS_NAMESPACE, metricName, dimensionsMap: { ShardGroup: g }, statistic, period })] as const);
    const reconnects = Object.fromEntries(sumOver('ShardReconnects', 'Sum', Duration.days(1)));
    const fns = Object.entries(props.functions).filter((e): e is [string, lambda.IFunction] => Boolean(e[1]));
    const tiers = Object.values(props.tiers).filter((t) => t.route.consumer !== null);
    const widgets: cloudwatch.IWidget[] = [
      new cloudwatch.SingleValueWidget({
        title: 'Disconnections / day (shard reconnects)',
        metrics: Object.keys(reconnects).length
          ? [
              new cloudwatch.MathExpression({
                expression: Object.keys(reconnects)
                  .map((k) => `FILL(${k}, 0)`)
                  .join(' + '),
                usingMetrics: reconnects,
                period: Duration.days(1),
                label: 'reconnects',
              }),
            ]
          : [],
        width: 5,
        height: 4,
      }),
      new cloudwatch.GraphWidget({ title: 'Processing p99 (ms)', left: fns.map(([n, f]) => f.metricDuration({ statistic: 'p99', period: Duration.minutes(5), label: n })), width: 5, height: 4 }),
      new cloudwatch.GraphWidget({
        title: 'Error rate (% of invocations)',
        // ids must be unique across the graph's expressions
        left: fns.map(
          ([n, f], k) =>
            new cloudwatch.MathExpression({
              expression: `100 * FILL(e${k}, 0) / IF(FILL(i${k}, 0) > 0, i${k}, 1)`,
              usingMetrics: { [`e${k}`]: f.metricErrors({ statistic: 'Sum' }), [`i${k}`]: f.metricInvocations({ statistic: 'Sum' }) },
              period: Duration.minutes(5),
              label: n,
            }),
        ),
        width: 5,
        height: 4,
      }),
      new cloudwatch.GraphWidget({ title: 'Steady queue depth (visible, avg)', left: tiers.map((t) => t.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Average', period: Duration.minutes(5), label: t.route.name })), width: 5, height: 4 }),
      new cloudwatch.GraphWidget({ title: 'Ingestor memory (%)', left: props.ingestors.map((i) => i.service.metricMemoryUtilization({ statistic: 'Maximum', period: Duration.minutes(1), label: i.shardGroup })), width: 4, height: 4 }),
    ];
    this.facade.addSegment({ widgets: () => widgets, alarmWidgets: () => [], summaryWidgets: () => [] });
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, periods: number, description: string, treatMissingData: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING): cloudwatch.Alarm {
    const a = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: periods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData,
      alarmDescription: description,
    });
    a.addAlarmAction(new cwActions.SnsAction(this.topic));
    this.alarms.push(a);
    return a;
  }
}
