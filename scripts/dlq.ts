/**
 * `npm run dlq -- <command>`: the dead-letter queues of the worker tiers.
 *
 *   npm run dlq -- count <tier>            how many messages wait in the tier's DLQ (or count --dlq-url URL)
 *   npm run dlq -- peek <tier> [--max N]   shows them (default 10) with the reason the worker gave, without taking them
 *   npm run dlq -- redrive <tier> [--max N]  moves them back to the tier's queue once the cause is fixed
 *          [--queue-url URL --dlq-url URL] [--stack NAME]
 *
 * A worker sends a record that can never succeed to its DLQ on first sight with message attributes
 * `reason`, `envelopeId`, `sourceQueue`, `receiveCount`, `deadLetteredAt` (lambdas/shared/dead-letter.ts);
 * a record SQS moved after maxReceiveCount failed receives has none (peek says so).
 *
 * Redrive is a ReceiveMessage / SendMessage / DeleteMessage loop (each message deleted from the DLQ
 * only after it was sent back), because the emulators lack StartMessageMoveTask; in AWS it works the
 * same (or use the console's "Start DLQ redrive").
 *
 * How the queues are found, first match wins (names are never guessed):
 *  1. --queue-url / --dlq-url
 *  2. <TIER>_QUEUE_URL / <TIER>_DLQ_URL in the environment (e.g. MEMBERS_QUEUE_URL)
 *  3. the stack's outputs `<tier>QueueUrl` and `<tier>DeadLetterQueueUrl` (CloudFormation
 *     DescribeStacks): --stack, default DiscordGateway-<ENV_NAME>-Local when AWS_ENDPOINT_URL is set
 *     (the local stage, `npm run deploy:local`), else DiscordGateway-<ENV_NAME>-Gateway (ENV_NAME
 *     defaults to dev, like the CDK app)
 */
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage, TIER_NAMES, type TierName } from '../lib/contract';
import { peek, redrive } from './redrive';

export interface TierQueues {
  queueUrl: string;
  dlqUrl: string;
  /** how they were found, for the output */
  source: string;
}

export interface LookupOptions {
  tier: TierName;
  queueUrl?: string;
  dlqUrl?: string;
  stack?: string;
  env?: Record<string, string | undefined>;
  cfn: Pick<CloudFormationClient, 'send'>;
}

/** The stack `npm run dlq` reads by default: the local stage against an endpoint, the gateway stack in AWS. */
export function defaultStack(env: Record<string, string | undefined> = process.env): string {
  const envName = env.ENV_NAME ?? 'dev';
  return env.AWS_ENDPOINT_URL ? `DiscordGateway-${envName}-Local` : `DiscordGateway-${envName}-Gateway`;
}

export async function findTierQueues(o: LookupOptions): Promise<TierQueues> {
  const env = o.env ?? process.env;
  const upper = o.tier.toUpperCase();
  let queueUrl = o.queueUrl ?? env[`${upper}_QUEUE_URL`];
  let dlqUrl = o.dlqUrl ?? env[`${upper}_DLQ_URL`];
  if (queueUrl && dlqUrl) return { queueUrl, dlqUrl, source: o.queueUrl || o.dlqUrl ? 'flags' : 'environment' };

  const stack = o.stack ?? defaultStack(env);
  const hint = `pass --queue-url and --dlq-url, set ${upper}_QUEUE_URL / ${upper}_DLQ_URL, or --stack NAME`;
  let outputs: { OutputKey?: string; OutputValue?: string }[];
  try {
    outputs = (await o.cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0]?.Outputs ?? [];
  } catch (err) {
    const msg = errorMessage(err);
    const missing = /does not exist|not found/i.test(msg);
    throw new Error(missing ? `stack ${stack} does not exist${env.AWS_ENDPOINT_URL ? ` on ${env.AWS_ENDPOINT_URL} (run \`npm run deploy:local\`)` : ''}: ${hint}` : `could not read stack ${stack}: ${msg}; ${hint}`, { cause: err });
  }
  const get = (k: string) => outputs.find((x) => x.OutputKey === k)?.OutputValue;
  queueUrl ??= get(`${o.tier}QueueUrl`);
  dlqUrl ??= get(`${o.tier}DeadLetterQueueUrl`);
  if (!queueUrl || !dlqUrl) {
    throw new Error(`could not find the ${o.tier} ${!queueUrl ? 'queue' : 'DLQ'}: stack ${stack} has no output ${o.tier}${!queueUrl ? 'QueueUrl' : 'DeadLetterQueueUrl'}; ${hint}`);
  }
  return { queueUrl, dlqUrl, source: `outputs of stack ${stack}` };
}

/** Client settings: the local endpoint's fixed credentials when AWS_ENDPOINT_URL is set, else the SDK's default chain. */
function clientConfig(env = process.env) {
  if (!env.AWS_ENDPOINT_URL) return {};
  return {
    endpoint: env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test' },
  };
}

const USAGE = `usage: npm run dlq -- count <tier> | peek <tier> [--max N] | redrive <tier> [--max N] [--queue-url URL --dlq-url URL] [--stack NAME]; tiers: ${TIER_NAMES.join(', ')}`;

async function main(argv = process.argv.slice(2)) {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'queue-url': { type: 'string' }, 'dlq-url': { type: 'string' }, max: { type: 'string' }, stack: { type: 'string' } },
  });
  const [cmd, tier] = positionals;
  if (cmd !== 'count' && cmd !== 'redrive' && cmd !== 'peek') throw new Error(`unknown command ${JSON.stringify(cmd ?? '')}: ${USAGE}`);
  const dlqFlag = values['dlq-url'];
  const byUrl = cmd !== 'redrive' && dlqFlag !== undefined && tier === undefined;
  if (!byUrl && (!tier || !(TIER_NAMES as readonly string[]).includes(tier))) throw new Error(`${cmd} needs a tier: one of ${TIER_NAMES.join(', ')} (got ${JSON.stringify(tier ?? '')})`);
  const max = values.max === undefined ? undefined : Number(values.max);
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) throw new Error(`--max must be a positive whole number, got ${JSON.stringify(values.max)}`);
  const cfg = clientConfig();
  const sqs = new SQSClient({ ...cfg, ...(cfg.endpoint ? { useQueueUrlAsEndpoint: false } : {}) });
  const cfn = new CloudFormationClient(cfg);
  const q = byUrl ? { queueUrl: '', dlqUrl: dlqFlag, source: 'flags' } : await findTierQueues({ tier: tier as TierName, queueUrl: values['queue-url'], dlqUrl: values['dlq-url'], stack: values.stack, cfn });
  if (cmd === 'count') {
    const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    console.log(`${a.Attributes?.ApproximateNumberOfMessages ?? 0} messages in ${q.dlqUrl} (${a.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0} in flight; found by ${q.source})`);
    return;
  }
  if (cmd === 'peek') {
    const msgs = await peek(sqs, q.dlqUrl, { max: max ?? 10 });
    console.log(`${msgs.length} message${msgs.length === 1 ? '' : 's'} shown from ${q.dlqUrl} (left in place; found by ${q.source})`);
    for (const m of msgs) {
      console.log(`- ${m.messageId}`);
      console.log(`  reason:   ${m.reason ?? '(none: moved by SQS after maxReceiveCount failed receives)'}`);
      if (m.envelopeId) console.log(`  envelope: ${m.envelopeId}`);
      if (m.sourceQueue) console.log(`  from:     ${m.sourceQueue} (receive ${m.receiveCount ?? '?'}, dead-lettered ${m.deadLetteredAt ?? '?'})`);
      console.log(`  body:     ${m.body.length > 300 ? `${m.body.slice(0, 300)}... (${m.body.length} bytes)` : m.body}`);
    }
    return;
  }
  const moved = await redrive(sqs, q.dlqUrl, q.queueUrl, { max });
  console.log(`redrive ${tier}: moved ${moved} messages from the DLQ back to the queue (${q.dlqUrl} -> ${q.queueUrl}, found by ${q.source})`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`dlq: ${errorMessage(err)}`);
    process.exit(1);
  });
}
