import { describe, expect, it } from 'vitest';
import { findTierQueues, matchTierQueues } from '../../../scripts/dlq';

const Q = 'https://sqs.us-east-1.amazonaws.com/1/';
const urls = [
  `${Q}DiscordGateway-dev-Gateway-EventBusMembersQueue16EF4809-AbC123`,
  `${Q}DiscordGateway-dev-Gateway-EventBusMembersDeadLetterQueue3437E5DB-XyZ789`,
  `${Q}DiscordGateway-dev-Gateway-EventBusMembersTargetDeadLetterQueue73E16664-Qq1`,
  `${Q}DiscordGateway-dev-Gateway-EventBusGuildsQueue2F05C67B-Zz9`,
];

describe('npm run dlq: finding a tier queue', () => {
  it('matches the CloudFormation names of the tier queue and DLQ, never the target DLQ or another tier', () => {
    expect(matchTierQueues(urls, 'members')).toEqual({ queueUrl: urls[0], dlqUrl: urls[1] });
    expect(matchTierQueues(urls, 'guilds')).toEqual({ queueUrl: urls[3], dlqUrl: undefined });
    expect(matchTierQueues(['http://127.0.0.1:4566/0/gateway-dev-EventBusBulkQueue98DACD6C'], 'bulk').queueUrl).toContain('BulkQueue');
  });

  it('refuses to guess between two stacks that share a prefix', () => {
    const two = [...urls, `${Q}DiscordGateway-dev-Gateway2-EventBusMembersQueue16EF4809-Other`];
    expect(() => matchTierQueues(two, 'members')).toThrow(/2 queues look like the members queue/);
  });

  it('takes the stack outputs in AWS, flags and variables first', async () => {
    const cfn = { send: async () => ({ Stacks: [{ Outputs: [{ OutputKey: 'membersQueueUrl', OutputValue: 'q' }, { OutputKey: 'membersDeadLetterQueueUrl', OutputValue: 'd' }] }] }) };
    const sqs = { send: async () => ({ QueueUrls: [] }) };
    expect(await findTierQueues({ tier: 'members', sqs, cfn, env: {} } as never)).toEqual({ queueUrl: 'q', dlqUrl: 'd', source: 'outputs of stack DiscordGateway-dev-Gateway' });
    expect(await findTierQueues({ tier: 'members', sqs, cfn, env: { MEMBERS_QUEUE_URL: 'eq', MEMBERS_DLQ_URL: 'ed' } } as never)).toMatchObject({ queueUrl: 'eq', dlqUrl: 'ed', source: 'environment' });
    expect(await findTierQueues({ tier: 'members', sqs, cfn, queueUrl: 'fq', dlqUrl: 'fd', env: {} } as never)).toMatchObject({ queueUrl: 'fq', source: 'flags' });
  });
});
