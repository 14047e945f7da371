/**
 * The voice and sync workers as the tier list deploys them (queue, DLQ, rule, function, event source
 * from the routing table), and the dashboard and alarm of gateway commands (issue 16) and the fleet
 * (issue 14), read by the metric names and dimension sets the ingestor and the sender write.
 */
import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING_TABLE, EVENT_SOURCE, INGESTOR_METRICS, WORKER_METRICS_NAMESPACE, type TierName } from '../../lib/contract';
import { INGESTOR_METRICS_NAMESPACE } from '../../lib/constructs/ingestor-service';
import { FLEET_UNOWNED_MINUTES } from '../../lib/constructs/monitoring';
import { buildTestApp, iamStatements, type Resources, type TestApp } from './helpers';

let t: TestApp;
let gateway: Template;
let res: Resources;
const gid = (c: IConstruct) => t.gateway.getLogicalId(c.node.defaultChild as CfnElement);

beforeAll(() => {
  t = buildTestApp({ envName: 'test', totalShards: 8, shardsPerTask: 4 });
  gateway = Template.fromStack(t.gateway);
  res = gateway.toJSON().Resources as Resources;
});

describe.each([
  ['voice', 'voice', ['VOICE_STATE_UPDATE']],
  ['sync', 'sync', ['GUILD_MEMBERS_CHUNK', 'RATE_LIMITED']],
] as const)('the %s tier', (tierName: TierName, consumer, types) => {
  const route = DEFAULT_ROUTING_TABLE[tierName];

  it('has a queue whose DLQ takes a message after maxReceiveCount, and a rule with exactly its dispatch types', () => {
    const tier = t.gateway.eventBus.tier(tierName);
    const q = res[gid(tier.queue)]!.Properties!;
    expect(q.RedrivePolicy).toEqual({ deadLetterTargetArn: { 'Fn::GetAtt': [gid(tier.deadLetterQueue), 'Arn'] }, maxReceiveCount: route.queue.maxReceiveCount });
    expect(q.VisibilityTimeout).toBe(route.queue.visibilityTimeoutSeconds);
    gateway.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [EVENT_SOURCE], 'detail-type': [...types] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [gid(tier.queue), 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [gid(tier.targetDeadLetterQueue), 'Arn'] } } })],
    });
  });

  it('is consumed by its worker through an event source with the table settings and partial batch failures', () => {
    const w = t.gateway.workers.worker(consumer);
    const fn = res[gid(w.function)]!.Properties!;
    expect(fn.Timeout).toBe(route.queue.functionTimeoutSeconds);
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({ WORKER: consumer, POWERTOOLS_METRICS_NAMESPACE: WORKER_METRICS_NAMESPACE });
    // voice states and member chunks need no bot token
    expect((fn.Environment as { Variables: Record<string, unknown> }).Variables.DISCORD_TOKEN_SECRET_ARN).toBeUndefined();
    gateway.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: gid(w.function) },
      EventSourceArn: { 'Fn::GetAtt': [gid(t.gateway.eventBus.tier(tierName).queue), 'Arn'] },
      BatchSize: route.queue.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: route.queue.maxConcurrency },
    });
    // and connects to the database as the worker role, like the others
    const role = gid(w.function.role!);
    const connects = iamStatements(res).filter((s) => s.Action.includes('rds-db:connect') && JSON.stringify(res[s.owner]!.Properties?.Roles).includes(role));
    expect(connects).toHaveLength(1);
  });
});

describe('gateway commands and the fleet on the dashboard', () => {
  const body = () => {
    const dashboards = Object.values(res).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    // the body is an Fn::Join of JSON text and tokens: its literal parts are enough here
    return JSON.stringify(dashboards[0]!.Properties!.DashboardBody);
  };
  /** a SEARCH of exactly this dimension set, as it appears inside the JSON string of the body */
  const search = (namespace: string, dims: string, metric: string, stat: string) => `SEARCH('{${namespace},${dims}} MetricName=\\\\\\"${metric}\\\\\\"', '${stat}', 60)`;

  it('graphs sent, queued and refused by opcode (and reason), each with the dimension set its writer uses', () => {
    const b = body();
    expect(b).toContain(search(INGESTOR_METRICS_NAMESPACE, 'Opcode', INGESTOR_METRICS.commandsSent, 'Sum'));
    expect(b).toContain(search(INGESTOR_METRICS_NAMESPACE, 'Opcode,Reason', INGESTOR_METRICS.commandsRefused, 'Sum'));
    expect(b).toContain(search(WORKER_METRICS_NAMESPACE, 'Opcode,service', 'GatewayCommandsQueued', 'Sum'));
    expect(b).toContain(search(WORKER_METRICS_NAMESPACE, 'Opcode,service', INGESTOR_METRICS.commandsRefused, 'Sum'));
  });

  it('graphs the command wait per shard group (p50, p99) and the shards per application (Maximum over tasks)', () => {
    const b = body();
    for (const g of ['0-3', '4-7']) {
      for (const stat of ['p50', 'p99']) expect(b).toContain(`[\\"${INGESTOR_METRICS_NAMESPACE}\\",\\"${INGESTOR_METRICS.commandWaitMs}\\",\\"ShardGroup\\",\\"${g}\\",{\\"label\\":\\"${g} ${stat}\\",\\"period\\":60,\\"stat\\":\\"${stat}\\"`);
    }
    expect(b).toContain('Shards per application: owned / unowned');
    expect(b).toContain(search(INGESTOR_METRICS_NAMESPACE, 'Application', INGESTOR_METRICS.shardsOwned, 'Maximum'));
    expect(b).toContain(search(INGESTOR_METRICS_NAMESPACE, 'Application', INGESTOR_METRICS.shardsUnowned, 'Maximum'));
  });

  it(`alarms when any application has an unowned shard for ${FLEET_UNOWNED_MINUTES} minutes, to the alarm topic`, () => {
    const alarms = Object.entries(res).filter(([id, r]) => r.Type === 'AWS::CloudWatch::Alarm' && id.includes('FleetShardsUnowned'));
    expect(alarms).toHaveLength(1);
    const p = alarms[0]![1].Properties!;
    expect(p).toMatchObject({ Threshold: 0, EvaluationPeriods: FLEET_UNOWNED_MINUTES, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    // a Metrics Insights query over every application, one series, evaluated per minute
    expect(p.Metrics).toHaveLength(1);
    expect((p.Metrics as unknown[])[0]).toMatchObject({ Expression: `SELECT MAX(${INGESTOR_METRICS.shardsUnowned}) FROM SCHEMA("${INGESTOR_METRICS_NAMESPACE}", Application)`, Period: 60, ReturnData: true });
    expect(JSON.stringify(p.AlarmActions)).toContain(gid(t.gateway.monitoring.topic));
  });
});
