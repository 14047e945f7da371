/**
 * `npm run dlq -- <command>`: the dead-letter queues of the worker tiers.
 *
 *   npm run dlq -- count <tier>        how many messages wait in the tier's DLQ (or count --dlq-url URL)
 *   npm run dlq -- redrive <tier>      moves them back to the tier's queue once the cause is fixed
 *                  [--max N] [--queue-url URL --dlq-url URL] [--stack NAME | --prefix NAME]
 *
 * Redrive is a ReceiveMessage / SendMessage / DeleteMessage loop (each message deleted from the DLQ
 * only after it was sent back), because the emulators lack StartMessageMoveTask; in AWS it works the
 * same (or use the console's "Start DLQ redrive").
 *
 * How the queues are found, first match wins:
 *  1. --queue-url / --dlq-url
 *  2. <TIER>_QUEUE_URL / <TIER>_DLQ_URL in the environment (e.g. MEMBERS_QUEUE_URL)
 *  3. in AWS (no AWS_ENDPOINT_URL): the gateway stack's outputs `<tier>QueueUrl` and
 *     `<tier>DeadLetterQueueUrl`; the stack is --stack, default DiscordGateway-<ENV_NAME>-Gateway
 *     (ENV_NAME defaults to dev, like the CDK app)
 *  4. by name (ListQueues): CDK gives no physical names, so the queues are `<prefix>-EventBus<Tier>Queue<hash>`
 *     and `<prefix>-EventBus<Tier>DeadLetterQueue<hash>`, where the prefix is the stack name in AWS
 *     (CloudFormation adds a suffix) and `gateway-<ENV_NAME>` for `npm run deploy:local`; --prefix overrides.
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { TIER_NAMES, type TierName } from '../lib/contract';
import { localSqsConfig } from '../local/aws';
import { redrive } from '../local/wiring/redrive';

export interface TierQueues {
  queueUrl: string;
  dlqUrl: string;
  /** how they were found, for the output */
  source: string;
}

const pascal = (t: string) => t[0]!.toUpperCase() + t.slice(1);

/** Picks the tier's queue and DLQ from queue URLs by the CDK logical-id pattern (TargetDeadLetterQueue excluded). */
export function matchTierQueues(urls: readonly string[], tier: TierName): { queueUrl?: string; dlqUrl?: string } {
  const name = (u: string) => u.slice(u.lastIndexOf('/') + 1);
  const base = `EventBus${pascal(tier)}`;
  const queue = new RegExp(`-${base}Queue[0-9A-F]{8}(-[A-Za-z0-9]+)?$`);
  const dlq = new RegExp(`-${base}DeadLetterQueue[0-9A-F]{8}(-[A-Za-z0-9]+)?$`);
  const one = (re: RegExp, what: string) => {
    const hits = urls.filter((u) => re.test(name(u)));
    if (hits.length > 1) throw new Error(`${hits.length} queues look like the ${tier} ${what}: ${hits.map(name).join(', ')}; narrow it with --prefix or pass the URL`);
    return hits[0];
  };
  return { queueUrl: one(queue, 'queue'), dlqUrl: one(dlq, 'DLQ') };
}

export interface LookupOptions {
  tier: TierName;
  queueUrl?: string;
  dlqUrl?: string;
  stack?: string;
  prefix?: string;
  env?: Record<string, string | undefined>;
  sqs: Pick<SQSClient, 'send'>;
  cfn?: Pick<CloudFormationClient, 'send'>;
}

export async function findTierQueues(o: LookupOptions): Promise<TierQueues> {
  const env = o.env ?? process.env;
  const upper = o.tier.toUpperCase();
  let queueUrl = o.queueUrl ?? env[`${upper}_QUEUE_URL`];
  let dlqUrl = o.dlqUrl ?? env[`${upper}_DLQ_URL`];
  if (queueUrl && dlqUrl) return { queueUrl, dlqUrl, source: o.queueUrl || o.dlqUrl ? 'flags' : 'environment' };

  const envName = env.ENV_NAME ?? 'dev';
  const local = Boolean(env.AWS_ENDPOINT_URL);
  const stack = o.stack ?? `DiscordGateway-${envName}-Gateway`;
  if (!local && o.cfn && !o.prefix) {
    const out = await o.cfn
      .send(new DescribeStacksCommand({ StackName: stack }))
      .then((r) => r.Stacks?.[0]?.Outputs ?? [])
      .catch(() => []);
    const get = (k: string) => out.find((x) => x.OutputKey === k)?.OutputValue;
    queueUrl ??= get(`${o.tier}QueueUrl`);
    dlqUrl ??= get(`${o.tier}DeadLetterQueueUrl`);
    if (queueUrl && dlqUrl) return { queueUrl, dlqUrl, source: `outputs of stack ${stack}` };
  }
  const prefix = o.prefix ?? (local ? `gateway-${envName}` : stack);
  const urls: string[] = [];
  let next: string | undefined;
  do {
    const r = await o.sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000, NextToken: next }));
    urls.push(...(r.QueueUrls ?? []));
    next = r.NextToken;
  } while (next);
  const m = matchTierQueues(urls, o.tier);
  queueUrl ??= m.queueUrl;
  dlqUrl ??= m.dlqUrl;
  if (!queueUrl || !dlqUrl) {
    throw new Error(
      `could not find the ${o.tier} ${!queueUrl ? 'queue' : 'DLQ'}: no queue named ${prefix}-EventBus${pascal(o.tier)}${!queueUrl ? 'Queue' : 'DeadLetterQueue'}<hash>. ` +
        `Pass --queue-url and --dlq-url (the ${o.tier}QueueUrl / ${o.tier}DeadLetterQueueUrl outputs), set ${upper}_QUEUE_URL / ${upper}_DLQ_URL, or --prefix / --stack`,
    );
  }
  return { queueUrl, dlqUrl, source: `queues named ${prefix}-*` };
}

const USAGE = `usage: npm run dlq -- count <tier> | redrive <tier> [--max N] [--queue-url URL --dlq-url URL] [--stack NAME | --prefix NAME]; tiers: ${TIER_NAMES.join(', ')}`;

async function main(argv = process.argv.slice(2)) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'queue-url': { type: 'string' }, 'dlq-url': { type: 'string' }, max: { type: 'string' }, stack: { type: 'string' }, prefix: { type: 'string' } },
  });
  const [cmd, tier] = positionals;
  if (cmd !== 'count' && cmd !== 'redrive') throw new Error(`unknown command ${JSON.stringify(cmd ?? '')}: ${USAGE}`);
  const countByUrl = cmd === 'count' && values['dlq-url'] !== undefined && tier === undefined;
  if (!countByUrl && (!tier || !(TIER_NAMES as readonly string[]).includes(tier))) throw new Error(`${cmd} needs a tier: one of ${TIER_NAMES.join(', ')} (got ${JSON.stringify(tier ?? '')})`);
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) throw new Error(`--max must be a positive whole number, got ${JSON.stringify(values.max)}`);
  const local = Boolean(process.env.AWS_ENDPOINT_URL);
  const sqs = new SQSClient(local ? localSqsConfig() : {});
  const cfn = local ? undefined : new CloudFormationClient({});
  const q = countByUrl
    ? { queueUrl: '', dlqUrl: values['dlq-url']!, source: 'flags' }
    : await findTierQueues({ tier: tier as TierName, queueUrl: values['queue-url'], dlqUrl: values['dlq-url'], stack: values.stack, prefix: values.prefix, sqs, cfn });
  if (cmd === 'count') {
    const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    console.log(`${a.Attributes?.ApproximateNumberOfMessages ?? 0} messages in ${q.dlqUrl} (${a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0} in flight; found by ${q.source})`);
    return;
  }
  const moved = await redrive(sqs, q.dlqUrl, q.queueUrl, { max });
  console.log(`redrive ${tier}: moved ${moved} messages from the DLQ back to the queue (${q.dlqUrl} -> ${q.queueUrl}, found by ${q.source})`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`dlq: ${String((err as Error).message ?? err)}`);
    process.exit(1);
  });
}
