import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING_TABLE, tierEventPattern } from '../../../lib/contract';
import { planFromTemplate, refTarget, TemplateWiringError, type CfnTemplate } from '../../../local/wiring/template';

const template = (): CfnTemplate => ({
  Resources: {
    Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'GatewayBus' } },
    MembersDlq: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1209600 } },
    Members: {
      Type: 'AWS::SQS::Queue',
      Properties: { VisibilityTimeout: 180, MaximumMessageSize: 1048576, RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['MembersDlq', 'Arn'] }, maxReceiveCount: 5 } },
    },
    MembersTargetDlq: { Type: 'AWS::SQS::Queue', Properties: {} },
    MembersRule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { Ref: 'Bus' },
        EventPattern: tierEventPattern(DEFAULT_ROUTING_TABLE.members),
        State: 'ENABLED',
        Targets: [
          {
            Id: 'Target0',
            Arn: { 'Fn::GetAtt': ['Members', 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['MembersTargetDlq', 'Arn'] } },
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
          },
        ],
      },
    },
    OtherBusRule: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { source: ['aws.ec2'] }, Targets: [] } },
    MemberFn: {
      Type: 'AWS::Lambda::Function',
      Properties: { Timeout: 30, Environment: { Variables: { WORKER: 'member', DB_NAME: 'gateway_proxy' } } },
      Metadata: { 'aws:cdk:path': 'Gateway/Workers/MemberWorker/Resource' },
    },
    GuildFn: { Type: 'AWS::Lambda::Function', Properties: {}, Metadata: { 'aws:cdk:path': 'Gateway/Workers/GuildWorker/Resource' } },
    MemberEsm: {
      Type: 'AWS::Lambda::EventSourceMapping',
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': ['Members', 'Arn'] },
        FunctionName: { Ref: 'MemberFn' },
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 1,
        ScalingConfig: { MaximumConcurrency: 10 },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      },
    },
  },
});

describe('planFromTemplate', () => {
  it('reads queues with their redrive policy, rules on our bus with target DLQs, functions and mappings', () => {
    const plan = planFromTemplate(template());
    expect(plan.bus).toEqual({ logicalId: 'Bus', name: 'GatewayBus' });
    expect(plan.queues.find((q) => q.logicalId === 'Members')).toEqual({
      logicalId: 'Members',
      visibilityTimeoutSeconds: 180,
      retentionSeconds: undefined,
      maximumMessageSizeBytes: 1048576,
      redrive: { deadLetterQueue: 'MembersDlq', maxReceiveCount: 5 },
    });
    expect(plan.rules).toHaveLength(1); // the rule on the default bus is not ours
    expect(plan.rules[0]).toMatchObject({
      logicalId: 'MembersRule',
      enabled: true,
      eventPattern: tierEventPattern(DEFAULT_ROUTING_TABLE.members),
      targets: [{ id: 'Target0', queue: 'Members', deadLetterQueue: 'MembersTargetDlq', retryPolicy: { maximumRetryAttempts: 185, maximumEventAgeInSeconds: 86400 } }],
    });
    expect(plan.functions.map((f) => [f.logicalId, f.worker, f.timeoutSeconds])).toEqual([
      ['MemberFn', 'member', 30],
      ['GuildFn', 'guild', 3],
    ]);
    expect(plan.mappings).toEqual([
      { logicalId: 'MemberEsm', queue: 'Members', function: 'MemberFn', batchSize: 100, maxBatchingWindowSeconds: 1, maxConcurrency: 10, reportBatchItemFailures: true },
    ]);
  });

  it('rejects a template without exactly one bus', () => {
    const t = template();
    delete t.Resources!.Bus;
    expect(() => planFromTemplate(t)).toThrow(TemplateWiringError);
    expect(() => planFromTemplate(t)).toThrow(/exactly one AWS::Events::EventBus, found 0/);
  });

  it('names the queue whose redrive policy points nowhere', () => {
    const t = template();
    (t.Resources!.Members!.Properties!.RedrivePolicy as Record<string, unknown>).deadLetterTargetArn = 'arn:aws:sqs:us-east-1:1:elsewhere';
    expect(() => planFromTemplate(t)).toThrow(/queue Members: RedrivePolicy/);
  });

  it('names the rule whose target is not a queue of the template', () => {
    const t = template();
    const targets = t.Resources!.MembersRule!.Properties!.Targets as Array<Record<string, unknown>>;
    targets[0]!.Arn = { 'Fn::GetAtt': ['MemberFn', 'Arn'] };
    expect(() => planFromTemplate(t)).toThrow(/rule MembersRule: target Target0/);
  });

  it('resolves Ref and both Fn::GetAtt forms', () => {
    expect(refTarget({ Ref: 'A' })).toBe('A');
    expect(refTarget({ 'Fn::GetAtt': ['B', 'Arn'] })).toBe('B');
    expect(refTarget({ 'Fn::GetAtt': 'C.Arn' })).toBe('C');
    expect(refTarget('arn:literal')).toBeUndefined();
  });
});
