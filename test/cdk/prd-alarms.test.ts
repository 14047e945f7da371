/**
 * PRD 8.2, row by row: one alarm for each row (per shard group, tier, worker or Redis node), each with
 * the configured threshold and the alarm topic as its action; thresholds come from config (context
 * or environment) and a bad one stops synth naming the setting.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConfigError, DEFAULT_ALARM_THRESHOLDS, loadAlarmThresholds } from '../../lib/config/app-config';
import { CONSUMERS, TIER_NAMES, tiersByPriority } from '../../lib/contract';
import { buildTestApp, type Resources } from './helpers';

type Alarm = { id: string; Threshold: number; EvaluationPeriods: number; AlarmActions: unknown[]; MetricName?: string; Metrics?: unknown[]; ExtendedStatistic?: string; Statistic?: string };

describe('PRD 8.2 alarms', () => {
  let alarms: Alarm[] = [];
  let topicId = '';
  const env = { ALARM_QUEUE_BACKLOG_MESSAGES: '250', ALARM_WORKER_P99_MS: '800' };

  beforeAll(() => {
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
    const t = buildTestApp({ totalShards: 8, shardsPerTask: 4 });
    const resources = Template.fromStack(t.gateway).toJSON().Resources as Resources;
    topicId = Object.entries(resources).find(([, r]) => r.Type === 'AWS::SNS::Topic')![0];
    alarms = Object.entries(resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([id, r]) => ({ id, ...(r.Properties as Omit<Alarm, 'id'>) }));
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  const find = (re: RegExp) => alarms.filter((a) => re.test(a.id));
  const toTopic = (a: Alarm) => JSON.stringify(a.AlarmActions) === JSON.stringify([{ Ref: topicId }]);
  const metricNames = (a: Alarm) => JSON.stringify(a.Metrics ?? a.MetricName);

  const consumed = tiersByPriority().flatMap((t) => (t.consumer ? [t.name] : []));
  const rows: Array<[string, RegExp, number, number, (a: Alarm) => boolean]> = [
    // [PRD row, alarm ids, how many (2 shard groups, the consumed tiers, every tier, the workers, 2 Redis nodes), threshold, metric check]
    ['ingestor disconnect: a shard not READY > 1 min', /Ingestor\d+ShardsNotReady/, 2, 0, (a) => a.EvaluationPeriods === DEFAULT_ALARM_THRESHOLDS.shardNotReadyMinutes && metricNames(a).includes('ShardsReady')],
    ['ingestor OOM / task restarts', /Ingestor\d+Restarts/, 2, DEFAULT_ALARM_THRESHOLDS.ingestorStartsPer15Min, (a) => metricNames(a).includes('ProcessStarts')],
    ['ingestor memory > 80 %', /Ingestor\d+Memory/, 2, 80, (a) => metricNames(a).includes('MemoryUtilization')],
    ['queue backlog > 1,000 per tier (here 250 from ALARM_QUEUE_BACKLOG_MESSAGES)', new RegExp(`Queue(${consumed.join('|')})Backlog`), consumed.length, 250, (a) => metricNames(a).includes('ApproximateNumberOfMessagesVisible')],
    ['DLQ > 0 per tier', new RegExp(`(${TIER_NAMES.join('|')})queueDLQ.*(MaxMessage|Size|Count)|Dlq.*Alarm|DeadLetter.*Alarm`, 'i'), TIER_NAMES.length, 0, (a) => metricNames(a).includes('ApproximateNumberOfMessagesVisible')],
    ['worker latency p99 > 1 s (here 800 ms from ALARM_WORKER_P99_MS)', /Worker\w+LatencyP99/, CONSUMERS.length, 800, (a) => a.ExtendedStatistic === 'p99' && metricNames(a).includes('Duration')],
    ['worker errors > 1 %', /Worker\w+ErrorRate/, CONSUMERS.length, 1, (a) => metricNames(a).includes('Errors') && metricNames(a).includes('Invocations')],
    ['Redis memory > 80 %', /RedisNode\dMemory/, 2, 80, (a) => metricNames(a).includes('DatabaseMemoryUsagePercentage')],
    ['Redis connections > 1,000', /RedisNode\dConnections/, 2, 1000, (a) => metricNames(a).includes('CurrConnections')],
    ['ingestor dead letters > 0', /Ingestor\d+DeadLetters/, 2, 0, (a) => metricNames(a).includes('EventsDeadLettered')],
    ['spool growing', /Ingestor\d+SpoolGrowing/, 2, 0, (a) => metricNames(a).includes('SpoolDepth')],
  ];

  it.each(rows)('%s', (_row, re, count, threshold, check) => {
    const got = find(re);
    expect(got.map((a) => a.id)).toHaveLength(count);
    for (const a of got) {
      expect(a.Threshold, a.id).toBe(threshold);
      expect(toTopic(a), `${a.id} sends to the alarm topic`).toBe(true);
      expect(check(a), `${a.id} watches the right metric`).toBe(true);
    }
  });

  it('reads thresholds from context before the environment, and names the setting of a bad one', () => {
    expect(loadAlarmThresholds((k) => ({ alarmRedisConnections: '5000' })[k], { ALARM_REDIS_CONNECTIONS: '10', ALARM_REDIS_MEMORY_PERCENT: '70' })).toMatchObject({ redisConnections: 5000, redisMemoryPercent: 70, queueBacklogMessages: 1000 });
    expect(() => loadAlarmThresholds(() => undefined, { ALARM_WORKER_ERROR_RATE_PERCENT: '150' })).toThrow(AppConfigError);
    expect(() => loadAlarmThresholds(() => undefined, { ALARM_WORKER_ERROR_RATE_PERCENT: '150' })).toThrow(/alarmWorkerErrorRatePercent \(context\) \/ ALARM_WORKER_ERROR_RATE_PERCENT \(env\)/);
  });
});
