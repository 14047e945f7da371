/**
 * Creates a wiring plan (from the synthesized template) on an AWS-compatible endpoint: the bus, every
 * queue with its redrive policy, every rule with its pattern, state and targets (with their DLQ and
 * retry policy). Idempotent: applying twice reuses what exists and resets attributes to the plan.
 */
import {
  CreateEventBusCommand,
  DescribeEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, PurgeQueueCommand, SQSClient, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DEFAULT_ROUTING_TABLE, TIER_NAMES, tierEventPattern, type RoutingTable, type TierName } from '../../lib/contract';
import type { WiringPlan } from './template';

export interface AppliedQueue {
  logicalId: string;
  name: string;
  url: string;
  arn: string;
  /** the tier whose rule targets this queue, or whose queue this is the DLQ of */
  tier?: TierName;
  isDlq: boolean;
}

export interface AppliedWiring {
  busName: string;
  queues: Record<string, AppliedQueue>;
  ruleNames: Record<string, string>;
  /** tier -> its main queue and DLQ logical ids (from the rules whose pattern is the tier's) */
  tiers: Partial<Record<TierName, { queue: string; dlq?: string; rule: string; targetDlq?: string }>>;
}

export interface ApplyOptions {
  /** prefix of every local physical name, so several runs can share one endpoint */
  prefix: string;
  table?: RoutingTable;
  /** purge every queue after creating it (a clean start for a run) */
  purge?: boolean;
}

const samePattern = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** SQS names: 80 characters of letters, digits, - and _. */
const queueName = (prefix: string, logicalId: string) => `${prefix}-${logicalId}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80);
const ruleName = (prefix: string, logicalId: string) => `${prefix}-${logicalId}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64);

export async function applyWiring(plan: WiringPlan, eb: EventBridgeClient, sqs: SQSClient, opts: ApplyOptions): Promise<AppliedWiring> {
  const table = opts.table ?? DEFAULT_ROUTING_TABLE;
  const busName = `${opts.prefix}-bus`.slice(0, 256);
  try {
    await eb.send(new DescribeEventBusCommand({ Name: busName }));
  } catch (err) {
    if (!(err instanceof ResourceNotFoundException) && (err as Error).name !== 'ResourceNotFoundException') throw err;
    await eb.send(new CreateEventBusCommand({ Name: busName }));
  }

  const queues: Record<string, AppliedQueue> = {};
  // DLQs first: the redrive policy of a main queue needs its DLQ's ARN
  const ordered = [...plan.queues].sort((a, b) => Number(!!a.redrive) - Number(!!b.redrive));
  for (const q of ordered) {
    const name = queueName(opts.prefix, q.logicalId);
    const attrs: Record<string, string> = {};
    if (q.visibilityTimeoutSeconds !== undefined) attrs.VisibilityTimeout = String(q.visibilityTimeoutSeconds);
    if (q.retentionSeconds !== undefined) attrs.MessageRetentionPeriod = String(q.retentionSeconds);
    if (q.maximumMessageSizeBytes !== undefined) attrs.MaximumMessageSize = String(q.maximumMessageSizeBytes);
    if (q.redrive) {
      const dlq = queues[q.redrive.deadLetterQueue];
      if (!dlq) throw new Error(`queue ${q.logicalId}: its DLQ ${q.redrive.deadLetterQueue} was not created first (a DLQ with its own DLQ?)`);
      attrs.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: q.redrive.maxReceiveCount });
    }
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    if (Object.keys(attrs).length) await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attrs }));
    if (opts.purge) await sqs.send(new PurgeQueueCommand({ QueueUrl })).catch(() => undefined);
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    if (!arn) throw new Error(`queue ${name} has no QueueArn`);
    queues[q.logicalId] = { logicalId: q.logicalId, name, url: QueueUrl, arn, isDlq: false };
  }

  const ruleNames: Record<string, string> = {};
  const tiers: AppliedWiring['tiers'] = {};
  for (const r of plan.rules) {
    const name = ruleName(opts.prefix, r.logicalId);
    ruleNames[r.logicalId] = name;
    await eb.send(
      new PutRuleCommand({ Name: name, EventBusName: busName, EventPattern: JSON.stringify(r.eventPattern), State: r.enabled ? 'ENABLED' : 'DISABLED' }),
    );
    await eb.send(
      new PutTargetsCommand({
        Rule: name,
        EventBusName: busName,
        Targets: r.targets.map((t) => ({
          Id: t.id,
          Arn: queues[t.queue]!.arn,
          InputPath: t.inputPath,
          DeadLetterConfig: t.deadLetterQueue ? { Arn: queues[t.deadLetterQueue]!.arn } : undefined,
          RetryPolicy: t.retryPolicy ? { MaximumRetryAttempts: t.retryPolicy.maximumRetryAttempts, MaximumEventAgeInSeconds: t.retryPolicy.maximumEventAgeInSeconds } : undefined,
        })),
      }),
    );
    const tier = TIER_NAMES.find((n) => samePattern(r.eventPattern, tierEventPattern(table[n])));
    const target = r.targets[0];
    if (tier && target) {
      const main = plan.queues.find((q) => q.logicalId === target.queue);
      tiers[tier] = { queue: target.queue, dlq: main?.redrive?.deadLetterQueue, rule: r.logicalId, targetDlq: target.deadLetterQueue };
      queues[target.queue]!.tier = tier;
      if (main?.redrive) Object.assign(queues[main.redrive.deadLetterQueue]!, { tier, isDlq: true });
      if (target.deadLetterQueue) Object.assign(queues[target.deadLetterQueue]!, { isDlq: true, tier: queues[target.deadLetterQueue]!.tier ?? tier });
    }
  }
  return { busName, queues, ruleNames, tiers };
}
