/**
 * `npm run cost -- --from-cloudwatch` (scripts/ops/run-counters.ts fromCloudWatch) against the local
 * AWS endpoint's CloudWatch: metrics shaped as the deployed stack writes them (the ingestor's EMF
 * namespace per ShardGroup and by Type, SQS per QueueName, Lambda per FunctionName) are put for a
 * stack pattern of this run only, and the counters and the report come back from GetMetricData.
 */
import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { afterAll, describe, expect, it } from 'vitest';
import { localAwsConfig } from '../../local/aws';
import { fromCloudWatch } from '../../scripts/ops/run-counters';
import { formatCostReport } from '../../scripts/cost';

const cw = new CloudWatchClient(localAwsConfig());
const run = Date.now().toString(36);
const stack = `GpCost${run}-Prod`;
const ns = `GpCostTest/${run}`;
afterAll(() => cw.destroy());

const at = new Date(Date.now() - 120_000);
const d = (MetricName: string, Value: number, dims: Record<string, string>, Unit: MetricDatum['Unit'] = 'Count'): MetricDatum => ({ MetricName, Value, Unit, Timestamp: at, Dimensions: Object.entries(dims).map(([Name, Value]) => ({ Name, Value })) });

describe('npm run cost --from-cloudwatch', () => {
  it('reads the ingestor, SQS and Lambda counters of the stack over the window and prices them', async () => {
    await cw.send(
      new PutMetricDataCommand({
        Namespace: ns,
        MetricData: [
          d('EventsReceived', 1000, { ShardGroup: 'g0' }),
          d('EventsPublished', 400, { ShardGroup: 'g0' }),
          d('EventsDropped', 600, { ShardGroup: 'g0' }),
          d('ShardsTotal', 4, { ShardGroup: 'g0' }),
          d('ShardsTotal', 4, { ShardGroup: 'g0' }),
          d('EventsReceived', 300, { ShardGroup: 'g0', Type: 'GUILD_MEMBER_ADD' }),
          d('EventsReceived', 100, { ShardGroup: 'g0', Type: 'GUILD_CREATE' }),
          d('EventsReceived', 600, { ShardGroup: 'g0', Type: 'PRESENCE_UPDATE' }),
        ],
      }),
    );
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/SQS',
        MetricData: [
          d('NumberOfMessagesSent', 300, { QueueName: `${stack}-MembersQueue` }),
          d('NumberOfMessagesSent', 100, { QueueName: `${stack}-GuildsQueue` }),
          d('NumberOfMessagesSent', 7, { QueueName: `${stack}-MembersDeadLetterQueue` }),
          d('NumberOfEmptyReceives', 50, { QueueName: `${stack}-MembersQueue` }),
        ],
      }),
    );
    await cw.send(
      new PutMetricDataCommand({
        Namespace: 'AWS/Lambda',
        MetricData: [
          d('Invocations', 3, { FunctionName: `${stack}-WorkersMemberWorkerAB12` }),
          d('Duration', 1200, { FunctionName: `${stack}-WorkersMemberWorkerAB12` }, 'Milliseconds'),
          d('Invocations', 10, { FunctionName: `${stack}-WorkersGuildWorkerCD34` }),
          d('Errors', 1, { FunctionName: `${stack}-WorkersGuildWorkerCD34` }),
        ],
      }),
    );

    const r = await fromCloudWatch(cw, { start: new Date(Date.now() - 600_000), end: new Date(), stackPattern: stack, ingestorNamespace: ns, metricsIntervalS: 60 });
    expect(r.gateway).toEqual({ received: 1000, published: 400, dropped: 600, receivedByType: { GUILD_MEMBER_ADD: 300, GUILD_CREATE: 100, PRESENCE_UPDATE: 600 } });
    // the dead-letter queue's messages are no routed traffic
    expect(r.queued).toBe(400);
    expect(r.sqsEmptyReceives).toBe(50);
    expect(r.workers.member).toMatchObject({ invocations: 3, durationMs: 1200, errors: 0, measured: true });
    expect(r.workers.guild).toMatchObject({ invocations: 10, errors: 1 });
    // two EMF documents of one task at a 60 s interval
    expect(r.ingestor.taskSeconds).toBe(120);
    const report = formatCostReport(r);
    expect(report).toMatch(/members\s+300\s+30\.0 %\s+GUILD_MEMBER_ADD 300/);
    expect(report).toMatch(/EventBridge\s+0\.000400\s+1\.0000\s+2\.5000/);
  });
});
