import { describe, expect, it } from 'vitest';
import { defaultStack, findTierQueues } from '../../../scripts/dlq';
import { peek } from '../../../scripts/redrive';

const outputs = [
  { OutputKey: 'membersQueueUrl', OutputValue: 'q' },
  { OutputKey: 'membersDeadLetterQueueUrl', OutputValue: 'd' },
];

describe('npm run dlq: finding a tier queue', () => {
  it('reads the stack outputs: the local stage against an endpoint, the gateway stack in AWS, or --stack', async () => {
    const asked: string[] = [];
    const cfn = {
      send: (c: { input: { StackName: string } }) => {
        asked.push(c.input.StackName);
        return Promise.resolve({ Stacks: [{ Outputs: outputs }] });
      },
    };
    expect(await findTierQueues({ tier: 'members', cfn, env: {} } as never)).toEqual({ queueUrl: 'q', dlqUrl: 'd', source: 'outputs of stack DiscordGateway-dev-Gateway' });
    expect(await findTierQueues({ tier: 'members', cfn, env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', ENV_NAME: 'ci' } } as never)).toMatchObject({ source: 'outputs of stack DiscordGateway-ci-Local' });
    await findTierQueues({ tier: 'members', cfn, env: {}, stack: 'Mine' } as never);
    expect(asked).toEqual(['DiscordGateway-dev-Gateway', 'DiscordGateway-ci-Local', 'Mine']);
    expect(defaultStack({ AWS_ENDPOINT_URL: 'x' })).toBe('DiscordGateway-dev-Local');
  });

  it('takes flags and variables first, without asking CloudFormation', async () => {
    const cfn = { send: () => Promise.reject(new Error('must not be asked')) };
    expect(await findTierQueues({ tier: 'members', cfn, env: { MEMBERS_QUEUE_URL: 'eq', MEMBERS_DLQ_URL: 'ed' } } as never)).toMatchObject({ queueUrl: 'eq', dlqUrl: 'ed', source: 'environment' });
    expect(await findTierQueues({ tier: 'members', cfn, queueUrl: 'fq', dlqUrl: 'fd', env: {} } as never)).toMatchObject({ queueUrl: 'fq', source: 'flags' });
  });

  it('names the stack, the missing output and what to pass instead; never guesses a name', async () => {
    const missing = { send: () => Promise.reject(new Error('Stack with id DiscordGateway-dev-Local does not exist')) };
    await expect(findTierQueues({ tier: 'guilds', cfn: missing, env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' } } as never)).rejects.toThrow(
      /stack DiscordGateway-dev-Local does not exist on http:\/\/127.0.0.1:4566 \(run `npm run deploy:local`\): pass --queue-url and --dlq-url, set GUILDS_QUEUE_URL/,
    );
    const noOutput = { send: () => Promise.resolve({ Stacks: [{ Outputs: outputs }] }) };
    await expect(findTierQueues({ tier: 'guilds', cfn: noOutput, env: {} } as never)).rejects.toThrow(/stack DiscordGateway-dev-Gateway has no output guildsQueueUrl/);
  });
});

describe('npm run dlq peek', () => {
  it('shows the reason attributes and puts every message back (visibility 0)', async () => {
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    let receives = 0;
    const sqs = {
      send: (c: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: c.constructor.name, input: c.input });
        if (c.constructor.name !== 'ReceiveMessageCommand') return Promise.resolve({});
        if (receives++ > 0) return Promise.resolve({ Messages: [] });
        return Promise.resolve({
          Messages: [
            { MessageId: 'm1', ReceiptHandle: 'r1', Body: '{"x":1}', MessageAttributes: { reason: { StringValue: 'envelope: id is not a 32-character hex id' }, receiveCount: { StringValue: '1' } } },
            { MessageId: 'm2', ReceiptHandle: 'r2', Body: '{"x":2}' },
          ],
        });
      },
    };
    const got = await peek(sqs as never, 'dlq');
    expect(got.map((m) => [m.messageId, m.reason, m.receiveCount])).toEqual([
      ['m1', 'envelope: id is not a 32-character hex id', '1'],
      ['m2', undefined, undefined],
    ]);
    expect(sent[0]!.input).toMatchObject({ MessageAttributeNames: ['All'] });
    const back = sent.find((s) => s.name === 'ChangeMessageVisibilityBatchCommand')!.input as { Entries: { ReceiptHandle: string; VisibilityTimeout: number }[] };
    expect(back.Entries.map((e) => [e.ReceiptHandle, e.VisibilityTimeout])).toEqual([
      ['r1', 0],
      ['r2', 0],
    ]);
  });
});
