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
import {
  AlarmFactoryDefaults,
  ElastiCacheClusterType,
  MonitoringFacade,
  SnsAlarmActionStrategy,
} from 'cdk-monitoring-constructs';
import { Construct } from 'constructs';
import type { TierName, TierRoute } from '../contract';
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
}

/**
 * Age of the oldest message that alarms for a tier: `interactionMaxAgeSeconds` for interactions
 * (Discord's 3 s window), `tierMaxAgeSeconds` for the other consumed tiers, and for a tier nobody
 * consumes (bulk) 80 % of its retention: there the alarm means "about to expire unread", not "backlog".
 */
export function tierMaxAgeAlarmSeconds(
  route: TierRoute,
  props: { readonly interactionMaxAgeSeconds?: number; readonly tierMaxAgeSeconds?: number },
): number {
  if (route.name === 'interactions') return props.interactionMaxAgeSeconds ?? 2;
  if (route.consumer === null) return Math.floor(0.8 * route.queue.retentionSeconds);
  return props.tierMaxAgeSeconds ?? 300;
}

export class GatewayMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly facade: MonitoringFacade;
  readonly alarms: cloudwatch.Alarm[] = [];

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

    // the ingestor's own metrics (EMF, dimension ShardGroup)
    const ing = (metricName: string, group: string, statistic = 'Sum') =>
      new cloudwatch.Metric({ namespace: INGESTOR_METRICS_NAMESPACE, metricName, dimensionsMap: { ShardGroup: group }, statistic, period: Duration.minutes(1) });
    for (const i of props.ingestors) {
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
      this.alarm(`Ingestor${g}ShardsNotReady`, notReady, 0, 3, `ingestor ${g}: a shard is not READY for 3 minutes (fatal close code, reconnect loop, or the task is down)`, cloudwatch.TreatMissingData.BREACHING);
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

    for (const tier of Object.values(props.tiers)) {
      if (!tier) continue;
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
      this.facade.monitorSqsQueue({
        queue: tier.targetDeadLetterQueue,
        humanReadableName: `${n} rule target DLQ`,
        alarmFriendlyName: `${n}-target-dlq`,
        addQueueMaxSizeAlarm: { Critical: { maxMessageCount: 0 } },
      });
    }

    for (const [name, fn] of Object.entries(props.functions)) {
      if (!fn) continue;
      this.facade.monitorLambdaFunction({
        lambdaFunction: fn,
        humanReadableName: `${name} worker`,
        alarmFriendlyName: `${name}-worker`,
        // the rate is the Average of Errors, a fraction of invocations: 0.01 = 1 %
        addFaultRateAlarm: { Critical: { maxErrorRate: 0.01 } },
        addThrottlesCountAlarm: { Critical: { maxErrorCount: 0 } },
      });
    }

    if (props.redisReplicationGroupId) {
      // ElastiCache publishes per node (CacheClusterId = <replication group>-00N), not per replication group
      for (let n = 1; n <= (props.redisNodeCount ?? 2); n++) {
        const node = `${props.redisReplicationGroupId}-${String(n).padStart(3, '0')}`;
        this.facade.monitorElastiCacheCluster({
          clusterType: ElastiCacheClusterType.REDIS,
          clusterId: node,
          humanReadableName: `Redis node ${n}`,
          alarmFriendlyName: `redis-node-${n}`,
          addRedisEngineCpuUsageAlarm: { Warning: { maxUsagePercent: 80 } },
          addMinFreeableMemoryAlarm: { Warning: { minFreeableMemoryInBytes: 100 * 1024 * 1024 } },
        });
      }
    }
    if (props.proxyName) {
      const px = (metricName: string, statistic = 'Maximum') =>
        new cloudwatch.Metric({ namespace: 'AWS/RDS', metricName, dimensionsMap: { ProxyName: props.proxyName! }, statistic, period: Duration.minutes(1) });
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
  }

  private alarm(
    id: string,
    metric: cloudwatch.IMetric,
    threshold: number,
    periods: number,
    description: string,
    treatMissingData: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
  ): void {
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
  }
}
