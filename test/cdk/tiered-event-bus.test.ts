import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING_TABLE, tierEventPattern, tiersByPriority, TIER_NAMES, type RoutingTable } from '../../lib/contract';
import { TieredEventBus } from '../../lib/constructs/tiered-event-bus';
import { TierWorkers } from '../../lib/constructs/tier-workers';
import { LocalGatewayStack, synthLocalTemplate } from '../../lib/stacks/local-stack';
import type { Resources } from './helpers';

const tiers = tiersByPriority(DEFAULT_ROUTING_TABLE);
const consumed = tiers.filter((t) => t.consumer !== null);

describe('TieredEventBus and the local stage', () => {
  let template: Template;
  let resources: Resources;
  let stack: LocalGatewayStack;
  const id = (c: IConstruct) => stack.getLogicalId(c.node.defaultChild as CfnElement);
  const ids = (tier: (typeof tiers)[number]) => {
    const r = stack.eventBus.tier(tier.name);
    return { queue: id(r.queue), dlq: id(r.deadLetterQueue), targetDlq: id(r.targetDeadLetterQueue) };
  };
  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    stack = new LocalGatewayStack(app, 'Local');
    template = Template.fromStack(stack);
    resources = template.toJSON().Resources as Resources;
  });

  it('creates one queue, one DLQ and one rule-target DLQ per tier of the routing table', () => {
    template.resourceCountIs('AWS::SQS::Queue', 3 * TIER_NAMES.length);
    template.resourceCountIs('AWS::Events::Rule', TIER_NAMES.length);
  });

  it("gives every tier queue a DLQ with the tier's maxReceiveCount and the tier's queue settings", () => {
    for (const t of tiers) {
      const { queue: queueId, dlq: dlqId } = ids(t);
      expect(resources[queueId]!.Properties).toMatchObject({
        VisibilityTimeout: t.queue.visibilityTimeoutSeconds,
        MessageRetentionPeriod: t.queue.retentionSeconds,
        MaximumMessageSize: t.queue.maximumMessageSizeBytes,
        SqsManagedSseEnabled: true,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: t.queue.maxReceiveCount },
      });
    }
  });

  it('never hard-codes a queue name', () => {
    for (const r of Object.values(resources)) if (r.Type === 'AWS::SQS::Queue') expect(r.Properties?.QueueName).toBeUndefined();
  });

  it('encrypts every queue and enforces TLS on it', () => {
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    const policies = template.findResources('AWS::SQS::QueuePolicy') as Resources;
    type Statement = { Effect: string; Condition?: Record<string, Record<string, string>> };
    const denied = Object.values(policies).flatMap((p) => (p.Properties!.PolicyDocument as { Statement: Statement[] }).Statement.filter((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
    expect(denied.length).toBeGreaterThanOrEqual(3 * TIER_NAMES.length);
  });

  it('has exactly one rule per tier whose pattern is tierEventPattern(tier), targeting its queue with a DLQ and retry policy', () => {
    for (const t of tiers) {
      const rules = template.findResources('AWS::Events::Rule', { Properties: { EventPattern: tierEventPattern(t) } });
      expect(Object.keys(rules), `rules for ${t.name}`).toHaveLength(1);
      const rule = Object.values(rules as Resources)[0]!;
      const { queue: queueId, targetDlq: targetDlqId } = ids(t);
      expect(rule.Properties!.Targets).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [queueId, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [targetDlqId, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 },
        }),
      ]);
    }
  });

  it("sets each worker's event source from the routing table, with ReportBatchItemFailures", () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', consumed.length);
    for (const t of consumed) {
      const queueId = ids(t).queue;
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        BatchSize: t.queue.batchSize,
        MaximumBatchingWindowInSeconds: t.queue.maxBatchingWindowSeconds > 0 ? t.queue.maxBatchingWindowSeconds : Match.absent(),
        ScalingConfig: { MaximumConcurrency: t.queue.maxConcurrency },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
  });

  it('runs every worker on nodejs22.x, ARM64, with the function timeout of its tier and a WORKER name', () => {
    for (const t of consumed) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Timeout: t.queue.functionTimeoutSeconds,
        Environment: { Variables: Match.objectLike({ WORKER: t.consumer, POWERTOOLS_METRICS_NAMESPACE: 'DiscordGatewayProxy/Workers' }) },
      });
    }
  });

  it('holds no VPC, Fargate, ElastiCache or RDS resource (it must run on the emulator)', () => {
    const types = new Set(Object.values(resources).map((r) => r.Type));
    for (const t of types) expect(t).not.toMatch(/^AWS::(EC2|ECS|ElastiCache|RDS)::/);
  });

  it('exports what the tools read as stack Outputs: bus, every tier queue and DLQ, every worker function (no name is guessed)', () => {
    const outputs = (synthLocalTemplate().Outputs ?? {}) as Record<string, unknown>;
    const keys = new Set(Object.keys(outputs));
    expect(keys.has('EventBusName')).toBe(true);
    expect(keys.has('ClaimCheckBucketName')).toBe(true);
    for (const t of TIER_NAMES) for (const k of [`${t}QueueUrl`, `${t}DeadLetterQueueUrl`, `${t}TargetDeadLetterQueueUrl`]) expect(keys, k).toContain(k);
    for (const t of consumed) expect(keys, String(t.consumer)).toContain(`${t.consumer}FunctionName`);
  });

  it('refuses a visibility timeout under 6 x the function timeout, naming the tier and the value to set', () => {
    const bad: RoutingTable = {
      ...DEFAULT_ROUTING_TABLE,
      members: { ...DEFAULT_ROUTING_TABLE.members, queue: { ...DEFAULT_ROUTING_TABLE.members.queue, visibilityTimeoutSeconds: 100 } },
    };
    const stack = new Stack(new App(), 'Bad');
    expect(() => new TieredEventBus(stack, 'Bus', { routing: bad })).toThrow(/members\.queue\.visibilityTimeoutSeconds=100 is below 6 x functionTimeoutSeconds=30: raise it to at least 180/);
  });

  it('uses provisioned pollers for interactions instead of maxConcurrency when asked (Lambda refuses both)', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Pollers');
    const eventBus = new TieredEventBus(stack, 'Bus', { routing: DEFAULT_ROUTING_TABLE, encryptBus: false, archive: false });
    new TierWorkers(stack, 'W', { eventBus, routing: DEFAULT_ROUTING_TABLE, environment: {}, interactionPollers: { minimum: 2, maximum: 3 } });
    const tpl = Template.fromStack(stack);
    tpl.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: DEFAULT_ROUTING_TABLE.interactions.queue.batchSize,
      ProvisionedPollerConfig: { MinimumPollers: 2, MaximumPollers: 3 },
      ScalingConfig: Match.absent(),
    });
    tpl.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: DEFAULT_ROUTING_TABLE.members.queue.maxConcurrency },
      ProvisionedPollerConfig: Match.absent(),
    });
  });

  it('fails with the missing handler path when a consumed tier has no worker entry', () => {
    const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'NoEntry');
    const eventBus = new TieredEventBus(stack, 'Bus', { routing: DEFAULT_ROUTING_TABLE, encryptBus: false, archive: false });
    expect(() => new TierWorkers(stack, 'W', { eventBus, routing: DEFAULT_ROUTING_TABLE, environment: {}, lambdasDir: '/nonexistent' })).toThrow(/\/nonexistent\/interaction\/handler\.ts does not exist/);
  });
});
