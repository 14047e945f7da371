/**
 * `npm run dlq -- redrive <tier> --queue-url URL --dlq-url URL`: moves a tier's DLQ messages back to
 * its queue once the cause is fixed. `npm run dlq -- count --dlq-url URL` shows how many wait.
 * The URLs are the `<Tier>QueueUrl` / `<Tier>DlqUrl` outputs of the gateway stack. Uses
 * AWS_ENDPOINT_URL when set (local emulator).
 */
import { parseArgs } from 'node:util';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { TIER_NAMES } from '../lib/contract';
import { localSqsConfig } from '../local/aws';
import { redrive } from '../local/wiring/redrive';

async function main() {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { 'queue-url': { type: 'string' }, 'dlq-url': { type: 'string' }, max: { type: 'string' } } });
  const [cmd, tier] = positionals;
  const sqs = new SQSClient(process.env.AWS_ENDPOINT_URL ? localSqsConfig() : {});
  const dlq = values['dlq-url'];
  if (!dlq) throw new Error('--dlq-url is required (the <Tier>DlqUrl output of the gateway stack)');
  if (cmd === 'count') {
    const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['ApproximateNumberOfMessages'] }));
    console.log(`${a.Attributes?.ApproximateNumberOfMessages ?? 0} messages in ${dlq}`);
    return;
  }
  if (cmd !== 'redrive') throw new Error(`unknown command ${JSON.stringify(cmd)}: use "redrive <tier>" or "count"`);
  if (!tier || !(TIER_NAMES as readonly string[]).includes(tier)) throw new Error(`redrive needs a tier: one of ${TIER_NAMES.join(', ')}`);
  const queue = values['queue-url'];
  if (!queue) throw new Error('--queue-url is required (the <Tier>QueueUrl output of the gateway stack)');
  const moved = await redrive(sqs, dlq, queue, { max: values.max ? Number(values.max) : undefined });
  console.log(`redrive ${tier}: moved ${moved} messages from the DLQ back to the queue`);
}

main().catch((err) => {
  console.error(`dlq: ${String((err as Error).message ?? err)}`);
  process.exit(1);
});
