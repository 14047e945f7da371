/**
 * The EventBridge custom bus and, for every tier of the routing table, its SQS queue, the queue's
 * DLQ, the rule that routes the tier's dispatch types to the queue, and a DLQ with a retry policy on
 * that rule target. Generated from the routing table (lib/contract), never repeated here.
 *
 * Needs no VPC, Fargate, ElastiCache or RDS, so the local stage synthesizes it alone (docs/local-stage.md).
 * Follows https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html and
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from './nag';
import { EVENT_SOURCE, tierEventPattern, tiersByPriority, validateRoutingTable, type RoutingTable, type TierName, type TierRoute } from '../contract';

/** Everything built for one tier. */
export interface TierResources {
  readonly route: TierRoute;
  /** The tier's work queue (the worker's event source). */
  readonly queue: sqs.Queue;
  /** Where the queue moves a message after `maxReceiveCount` receives. */
  readonly deadLetterQueue: sqs.Queue;
  /** Where EventBridge puts an event it could not deliver to `queue` after its retries. */
  readonly targetDeadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;
}

export interface TieredEventBusProps {
  /** The routing table; validate it before (the contract's `validateRoutingTable`). */
  readonly routing: RoutingTable;
  /**
   * Customer managed key for the bus (the archive gets its own).
   * @default - a new key with rotation enabled
   */
  readonly busKey?: kms.IKey;
  /**
   * Encrypt the bus and archive with a customer managed key (the local stage turns it off: emulators).
   * @default true
   */
  readonly encryptBus?: boolean;
  /**
   * How long the archive keeps events for replay.
   * @default Duration.days(7)
   */
  readonly archiveRetention?: Duration;
  /**
   * Retries EventBridge makes to deliver to a tier's queue before the target DLQ.
   * @default 185 (EventBridge's maximum)
   */
  readonly targetRetryAttempts?: number;
  /**
   * Maximum age of an event EventBridge keeps retrying.
   * @default Duration.hours(24)
   */
  readonly targetMaxEventAge?: Duration;
  /**
   * Removal policy of the queues and DLQs (they hold undelivered events).
   * @default RemovalPolicy.RETAIN
   */
  readonly queueRemovalPolicy?: RemovalPolicy;
  /**
   * Whether to create the archive (the local stage skips it: emulators rarely support archives).
   * @default true
   */
  readonly archive?: boolean;
}

/** Retention of every DLQ: the SQS maximum, so nothing expires before someone looks. */
const DLQ_RETENTION = Duration.days(14);

/** The bus, its archive, and for every tier: queue, DLQ, rule and rule-target DLQ. */
export class TieredEventBus extends Construct {
  readonly bus: events.EventBus;
  readonly archive?: events.Archive;
  readonly busKey?: kms.IKey;
  readonly tiers: Readonly<Partial<Record<TierName, TierResources>>>;

  constructor(scope: Construct, id: string, props: TieredEventBusProps) {
    super(scope, id);
    const removalPolicy = props.queueRemovalPolicy ?? RemovalPolicy.RETAIN;

    const encrypt = props.encryptBus ?? true;
    this.busKey = encrypt
      ? (props.busKey ??
        new kms.Key(this, 'BusKey', {
          description: 'Encrypts the Discord gateway event bus and its archive',
          enableKeyRotation: true,
          removalPolicy,
        }))
      : undefined;
    this.bus = new events.EventBus(this, 'Bus', { kmsKey: this.busKey, description: 'Discord gateway dispatches' });

    if (props.archive ?? true) {
      this.archive = new events.Archive(this, 'Archive', {
        sourceEventBus: this.bus,
        eventPattern: { source: [EVENT_SOURCE] },
        retention: props.archiveRetention ?? Duration.days(7),
        // its own key: the archive's key policy names the bus ARN, and the bus already depends on the
        // bus key, so sharing one key would make a dependency cycle
        kmsKey: encrypt
          ? new kms.Key(this, 'ArchiveKey', {
              description: 'Encrypts the Discord gateway event archive',
              enableKeyRotation: true,
              removalPolicy,
            })
          : undefined,
        description: 'Replay of every Discord gateway dispatch',
      });
      this.archive.applyRemovalPolicy(removalPolicy);
    }

    const tiers: Partial<Record<TierName, TierResources>> = {};
    // the contract's one validation, the one the app's configuration runs: a table built by hand
    // reaches this construct without passing through the configuration
    for (const route of tiersByPriority(validateRoutingTable(props.routing))) {
      tiers[route.name] = this.addTier(route, props, removalPolicy);
    }
    this.tiers = tiers;
  }

  /** The tier's resources; throws naming the tier when it is not in the table. */
  tier(name: TierName): TierResources {
    const t = this.tiers[name];
    if (!t) throw new Error(`tier ${name} is not in the routing table`);
    return t;
  }

  private addTier(route: TierRoute, props: TieredEventBusProps, removalPolicy: RemovalPolicy): TierResources {
    const q = route.queue;
    const scope = new Construct(this, pascal(route.name));
    const common: sqs.QueueProps = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy,
    };
    const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
      ...common,
      retentionPeriod: DLQ_RETENTION,
      maxMessageSizeBytes: q.maximumMessageSizeBytes,
    });
    const queue = new sqs.Queue(scope, 'Queue', {
      ...common,
      visibilityTimeout: Duration.seconds(q.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(q.retentionSeconds),
      maxMessageSizeBytes: q.maximumMessageSizeBytes,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: q.maxReceiveCount },
    });
    const targetDeadLetterQueue = new sqs.Queue(scope, 'TargetDeadLetterQueue', {
      ...common,
      retentionPeriod: DLQ_RETENTION,
      maxMessageSizeBytes: q.maximumMessageSizeBytes,
    });
    const rule = new events.Rule(scope, 'Rule', {
      eventBus: this.bus,
      description: `${route.name} tier (priority ${route.priority}): ${route.description}`,
      eventPattern: tierEventPattern(route),
    });
    rule.addTarget(
      new targets.SqsQueue(queue, {
        deadLetterQueue: targetDeadLetterQueue,
        retryAttempts: props.targetRetryAttempts ?? 185,
        maxEventAge: props.targetMaxEventAge ?? Duration.hours(24),
      }),
    );
    acknowledge(targetDeadLetterQueue, 'This is a dead-letter queue: the DLQ of the rule target (EventBridge puts undeliverable events here).', 'AwsSolutions-SQS3');
    acknowledge(deadLetterQueue, 'This is a dead-letter queue: the redrive target of the tier queue.', 'AwsSolutions-SQS3');
    return { route, queue, deadLetterQueue, targetDeadLetterQueue, rule };
  }
}

export const pascal = (s: string): string => s.replace(/(^|[-_ ])(\w)/g, (_, __, c: string) => c.toUpperCase());
