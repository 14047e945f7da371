/**
 * The whole app as bin/ builds it (two shard groups, worker code bundled with esbuild once), checked
 * on the properties that matter: least privilege, encryption and TLS, event sources from the routing
 * table, ingestor services, alarms, pinned logical ids of stateful resources, and cdk-nag.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseIngestorConfig } from '../../ingestor/src/config';
import { APP_TOKEN_SECRET_PREFIX, CONSUMERS, tiersByPriority } from '../../lib/contract';
import { BOT_TOKEN_CONSUMERS } from '../../lib/constructs/tier-workers';
import { buildTestApp, iamStatements, type Resources, type TestApp } from './helpers';

const DATA_ACTION = /^(events|s3|secretsmanager|sqs|rds-db|kms|ssm|dynamodb):/i;

describe('the deployed app (StatefulStack + GatewayStack)', () => {
  let t: TestApp;
  let gateway: Template;
  let stateful: Template;
  let gwRes: Resources;
  const gid = (c: IConstruct) => t.gateway.getLogicalId(c.node.defaultChild as CfnElement);
  const sid = (c: IConstruct) => t.stateful.getLogicalId(c.node.defaultChild as CfnElement);

  beforeAll(() => {
    t = buildTestApp({ envName: 'test', totalShards: 8, shardsPerTask: 4, alarmEmail: 'ops@example.com' }, { bundle: true });
    t.app.synth(); // runs cdk-nag as a validation plugin: throws on an unacknowledged error
    gateway = Template.fromStack(t.gateway);
    stateful = Template.fromStack(t.stateful);
    gwRes = gateway.toJSON().Resources as Resources;
  });

  describe('worker bundles', () => {
    it('ship source maps that map stack traces to file:line but carry no source text (2.6 instead of 7.2 MB, less heap under --enable-source-maps)', () => {
      const dir = t.app.synth().directory;
      const maps = readdirSync(dir)
        .filter((d) => d.startsWith('asset.'))
        .map((d) => join(dir, d, 'index.js.map'))
        .filter((f) => existsSync(f));
      expect(maps.length).toBeGreaterThanOrEqual(3); // interaction, member, guild
      for (const f of maps) {
        const map = JSON.parse(readFileSync(f, 'utf8')) as { sources: string[]; mappings: string; sourcesContent?: unknown[] };
        expect(
          map.sources.some((x) => x.includes('lambdas/')),
          f,
        ).toBe(true);
        expect(map.mappings.length, f).toBeGreaterThan(0);
        expect(map.sourcesContent ?? [], f).toEqual([]);
      }
    });
  });

  describe('least privilege', () => {
    it('grants no data action on a "*" resource in either stack', () => {
      for (const res of [gwRes, stateful.toJSON().Resources as Resources]) {
        for (const s of iamStatements(res)) {
          if (s.Effect !== 'Allow' || !s.Action.some((a) => DATA_ACTION.test(a))) continue;
          expect(s.Resource, `${s.owner}: ${s.Action.join(',')}`).not.toContain('*');
        }
      }
    });

    it('lets the ingestor task role put events on this bus, put claim-check objects and read its two secrets, nothing else', () => {
      const ing = t.gateway.ingestors[0]!;
      const roleId = gid(ing.taskDefinition.taskRole);
      const statements = iamStatements(gwRes).filter((s) => {
        const roles = (gwRes[s.owner]!.Properties?.Roles as unknown[] | undefined) ?? [];
        return roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId }));
      });
      expect(statements.flatMap((s) => s.Action).sort()).toEqual(['events:PutEvents', 'secretsmanager:DescribeSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:GetSecretValue', 'secretsmanager:GetSecretValue'].sort());
      // the third read: the token secrets of applications added at run time, by name prefix only
      const prefixed = statements.filter((s) => JSON.stringify(s.Resource).includes(`:secret:${APP_TOKEN_SECRET_PREFIX}*`));
      expect(prefixed.flatMap((s) => s.Action)).toEqual(['secretsmanager:GetSecretValue']);
      const put = statements.find((s) => s.Action.includes('events:PutEvents'))!;
      expect(put.Resource).toEqual([{ 'Fn::GetAtt': [gid(t.gateway.eventBus.bus), 'Arn'] }]);
      const role = gwRes[roleId]!.Properties!;
      const claimCheckExport: unknown = expect.stringContaining('ClaimCheckWriter');
      expect(role.ManagedPolicyArns).toEqual([{ 'Fn::ImportValue': claimCheckExport }]);
      stateful.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        Description: Match.stringLikeRegexp('Put claim-check'),
        PolicyDocument: { Statement: [Match.objectLike({ Action: 's3:PutObject', Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [sid(t.stateful.claimCheckBucket), 'Arn'] }, '/*']] } })] },
      });
    });

    it('gives the bot token to the workers that call bot-token routes only (member, guild), never to the interaction or voice worker', () => {
      const tokenExport: unknown = expect.stringContaining('DiscordBotToken');
      for (const w of t.gateway.workers.workers) {
        const fn = gwRes[gid(w.function)]!.Properties!;
        const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
        const roleId = gid(w.function.role!);
        const readsToken = iamStatements(gwRes).some(
          (s) => ((gwRes[s.owner]!.Properties?.Roles as unknown[] | undefined) ?? []).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })) && s.Action.includes('secretsmanager:GetSecretValue') && JSON.stringify(s.Resource).includes('DiscordBotToken'),
        );
        if (!BOT_TOKEN_CONSUMERS.includes(w.consumer)) {
          expect(env.DISCORD_TOKEN_SECRET_ARN).toBeUndefined();
          expect(readsToken).toBe(false);
        } else {
          expect(env.DISCORD_TOKEN_SECRET_ARN).toEqual({ 'Fn::ImportValue': tokenExport });
          expect(readsToken).toBe(true);
        }
      }
    });

    it('grants rds-db:connect for the gateway_worker user of the proxy only', () => {
      const connects = iamStatements(gwRes).filter((s) => s.Action.includes('rds-db:connect'));
      expect(connects).toHaveLength(CONSUMERS.length);
      for (const s of connects) expect(JSON.stringify(s.Resource)).toContain('/gateway_worker');
    });
  });

  describe('workers', () => {
    it('run in the VPC on nodejs22.x ARM64 with the agreed environment', () => {
      for (const w of t.gateway.workers.workers) {
        gateway.hasResourceProperties('AWS::Lambda::Function', {
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Timeout: w.route.queue.functionTimeoutSeconds,
          VpcConfig: Match.objectLike({ SecurityGroupIds: Match.anyValue(), SubnetIds: Match.anyValue() }),
          Environment: {
            Variables: Match.objectLike({
              WORKER: w.consumer,
              REDIS_URL: Match.anyValue(),
              REDIS_AUTH_SECRET_ARN: Match.anyValue(),
              DB_HOST: Match.anyValue(),
              DB_PORT: '5432',
              DB_NAME: 'gateway_proxy',
              DB_USER: 'gateway_worker',
              DB_IAM_AUTH: 'true',
              DISCORD_APPLICATION_ID: t.config.discordApplicationId,
              CLAIM_CHECK_BUCKET: Match.anyValue(),
              POWERTOOLS_SERVICE_NAME: `${w.consumer}-worker`,
              POWERTOOLS_METRICS_NAMESPACE: 'DiscordGatewayProxy/Workers',
            }),
          },
        });
      }
    });

    it('bundle their handler with esbuild (a code asset, not inline code)', () => {
      for (const w of t.gateway.workers.workers) {
        const code = gwRes[gid(w.function)]!.Properties!.Code as Record<string, unknown>;
        expect(code.S3Key).toMatch(/\.zip$/);
      }
    });

    it('take batch size, window and maximum concurrency from the routing table', () => {
      for (const tier of tiersByPriority(t.config.routing).filter((x) => x.consumer)) {
        gateway.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
          EventSourceArn: { 'Fn::GetAtt': [gid(t.gateway.eventBus.tier(tier.name).queue), 'Arn'] },
          BatchSize: tier.queue.batchSize,
          ScalingConfig: { MaximumConcurrency: tier.queue.maxConcurrency },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        });
      }
    });
  });

  describe('ingestor services', () => {
    it('run one ARM64 service per shard group with the agreed environment, health check and a 120 s stop timeout', () => {
      gateway.resourceCountIs('AWS::ECS::Service', 2);
      for (const [i, ids] of [
        [0, '0-3'],
        [1, '4-7'],
      ] as const) {
        expect(t.gateway.ingestors[i]!.shardGroup).toBe(ids);
        gateway.hasResourceProperties('AWS::ECS::TaskDefinition', {
          RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
          ContainerDefinitions: [
            Match.objectLike({
              StopTimeout: 120,
              HealthCheck: Match.objectLike({ Command: Match.arrayWith([Match.stringLikeRegexp('127.0.0.1:8080/health')]) }),
              Environment: Match.arrayWith([
                // arrayWith keeps order: the order the container definition lists them
                { Name: 'SHARD_IDS', Value: ids },
                { Name: 'SHARD_GROUP', Value: ids },
                { Name: 'TOTAL_SHARDS', Value: '8' },
                { Name: 'EVENT_BUS_NAME', Value: { Ref: gid(t.gateway.eventBus.bus) } },
                { Name: 'HTTP_PORT', Value: '8080' },
                { Name: 'METRICS_NAMESPACE', Value: 'DiscordGatewayProxy/Ingestor' },
                // the heap bounded by the task's 512 MiB; no source maps held on the heap
                { Name: 'NODE_OPTIONS', Value: '--max-old-space-size=256' },
                // glibc gives large buffers back after a burst
                { Name: 'MALLOC_MMAP_THRESHOLD_', Value: '65536' },
                { Name: 'MALLOC_TRIM_THRESHOLD_', Value: '131072' },
              ]),
            }),
          ],
        });
      }
      gateway.allResourcesProperties('AWS::ECS::Service', {
        DesiredCount: 1,
        // side by side during a deploy: the shard leases keep one owner per shard, the old task hands off
        DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, MaximumPercent: 200 }),
      });
    });

    it("gives the ingestor an environment its own config parser accepts, with the Redis AUTH token's secret and a dead-letter bucket", () => {
      const td = Object.values(gwRes).find((r) => r.Type === 'AWS::ECS::TaskDefinition')!;
      const pairs = (td.Properties!.ContainerDefinitions as { Environment: { Name: string; Value: unknown }[] }[])[0]!.Environment;
      // values CloudFormation resolves at deploy time, stood in for by what they resolve to
      const deployTime = (name: string) => (name.endsWith('_ARN') ? `arn:aws:secretsmanager:us-east-1:111111111111:secret:${name}` : name === 'REDIS_URL' ? 'rediss://cache.example:6379' : `${name.toLowerCase()}-resolved`);
      const env = Object.fromEntries(pairs.map((p) => [p.Name, typeof p.Value === 'string' ? p.Value : deployTime(p.Name)]));
      const cfg = parseIngestorConfig(env);
      expect(cfg.redisUrl).toMatch(/^rediss:\/\//);
      expect(cfg.redisAuthSecretArn).toMatch(/^arn:/);
      expect(cfg.tokenSecretArn).toMatch(/^arn:/);
      expect(cfg.token).toBeUndefined();
      // dead letters go to the claim-check bucket, whose objects the task role may put
      const value = (n: string) => pairs.find((p) => p.Name === n)?.Value;
      expect(value('DEAD_LETTER_BUCKET')).toEqual(value('CLAIM_CHECK_BUCKET'));
      expect(cfg.deadLetterBucket).toBeTruthy();
    });
  });

  describe('encryption and TLS', () => {
    it('encrypts the bus and its archive with customer managed keys', () => {
      gateway.hasResourceProperties('AWS::Events::EventBus', { KmsKeyIdentifier: Match.anyValue() });
      gateway.hasResourceProperties('AWS::Events::Archive', { KmsKeyIdentifier: Match.anyValue(), EventPattern: { source: ['discord.gateway'] } });
      gateway.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    });

    it('requires TLS and AUTH on Redis and encrypts it at rest', () => {
      stateful.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'required',
        AtRestEncryptionEnabled: true,
        AuthToken: Match.anyValue(),
      });
    });

    it('requires TLS and IAM authentication on RDS Proxy, and TLS and IAM auth on PostgreSQL', () => {
      stateful.hasResourceProperties('AWS::RDS::DBProxy', { RequireTLS: true, DefaultAuthScheme: 'IAM_AUTH' });
      stateful.hasResourceProperties('AWS::RDS::DBInstance', { StorageEncrypted: true, EnableIAMDatabaseAuthentication: true });
      stateful.hasResourceProperties('AWS::RDS::DBParameterGroup', { Parameters: { 'rds.force_ssl': '1' } });
    });

    it('lets the proxy log in to PostgreSQL with IAM as gateway_worker on this instance only (end-to-end IAM)', () => {
      stateful.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: [
            {
              Action: 'rds-db:connect',
              Effect: 'Allow',
              Resource: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [sid(t.stateful.database), 'DbiResourceId'] }, '/gateway_worker'])] },
            },
          ],
        },
      });
      stateful.hasResourceProperties('AWS::RDS::DBProxy', { DBProxyName: 'discordgateway-test-stateful-proxy' });
    });
  });

  describe('stateful resources', () => {
    // Renaming any of these replaces a database, a cache or a bucket: change only on purpose.
    const pinned: [string, string, string][] = [
      ['AWS::RDS::DBInstance', 'DatabaseB269D8BB', 'Snapshot'],
      ['AWS::ElastiCache::ReplicationGroup', 'Redis', 'Snapshot'],
      ['AWS::RDS::DBProxy', 'DatabaseProxy3E84A7D6', ''],
      ['AWS::S3::Bucket', 'ClaimCheckBucket19CAC7EA', 'Retain'],
      ['AWS::SecretsManager::Secret', 'DiscordBotTokenDA71045B', 'Retain'],
      ['AWS::SecretsManager::Secret', 'RedisAuthToken241E45D5', 'Retain'],
    ];
    it.each(pinned)('keeps the logical id of %s %s and its removal policy', (type, id, policy) => {
      const r = (stateful.toJSON().Resources as Resources)[id];
      expect(r?.Type, `${id} missing: a logical id changed`).toBe(type);
      if (policy) expect(r!.DeletionPolicy).toBe(policy);
    });

    it('retains the queues and DLQs (they hold undelivered events)', () => {
      for (const q of Object.values(gwRes).filter((r) => r.Type === 'AWS::SQS::Queue')) expect(q.DeletionPolicy).toBe('Retain');
    });
  });

  describe('monitoring', () => {
    const alarms = () => Object.values(gwRes).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    const alarmOnQueue = (queueId: string, metricName: string) => alarms().filter((a) => JSON.stringify(a.Properties).includes(metricName) && JSON.stringify(a.Properties).includes(`"${queueId}","QueueName"`));

    it('has one dashboard and an SNS topic with the alarm email', () => {
      gateway.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      gateway.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    });

    it("alarms on every DLQ above 0 and on each tier's oldest message age", () => {
      for (const tier of tiersByPriority(t.config.routing)) {
        const r = t.gateway.eventBus.tier(tier.name);
        for (const dlq of [r.deadLetterQueue, r.targetDeadLetterQueue]) {
          const a = alarmOnQueue(gid(dlq), 'ApproximateNumberOfMessagesVisible');
          expect(a, `${tier.name} DLQ alarm`).toHaveLength(1);
          // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
          expect(a[0]!.Properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: expect.any(Array) });
        }
        const age = alarmOnQueue(gid(r.queue), 'ApproximateAgeOfOldestMessage');
        expect(age, `${tier.name} age alarm`).toHaveLength(1);
        const expected =
          tier.name === 'interactions'
            ? t.config.interactionMaxAgeSeconds
            : tier.consumer === null
              ? Math.floor(0.8 * tier.queue.retentionSeconds) // unconsumed tier: "about to expire", not "backlog"
              : t.config.tierMaxAgeSeconds;
        expect(age[0]!.Properties!.Threshold).toBe(expected);
      }
    });

    it('alarms on shards not ready and a growing spool per shard group, on Lambda error rate above 1 % and on throttles, and on RDS Proxy pinning', () => {
      const text = alarms().map((a) => JSON.stringify(a.Properties));
      for (const g of ['0-3', '4-7']) {
        expect(text.filter((s) => s.includes('ShardsReady') && s.includes(`"${g}"`))).toHaveLength(1);
        expect(text.filter((s) => s.includes('SpoolDepth') && s.includes(`"${g}"`))).toHaveLength(1);
      }
      // errors as a percentage of invocations (Worker<fn>ErrorRate, threshold workerErrorRatePercent = 1)
      const faultRates = alarms().filter((a) => JSON.stringify(a.Properties).includes('"Errors"') && JSON.stringify(a.Properties).includes('"Invocations"') && a.Properties!.Threshold === 1);
      expect(faultRates).toHaveLength(CONSUMERS.length);
      expect(text.filter((s) => s.includes('"Throttles"'))).toHaveLength(CONSUMERS.length);
      expect(text.filter((s) => s.includes('DatabaseConnectionsCurrentlySessionPinned'))).toHaveLength(1);
    });
  });

  it('passes cdk-nag when synth knows the account and region (the CLI fills them in from the AWS configuration)', () => {
    const withEnv = buildTestApp({ envName: 'test', account: '111111111111', region: 'eu-west-1' });
    expect(withEnv.gateway.region).toBe('eu-west-1');
    const report = new AwsSolutionsChecks().validateScope(withEnv.app);
    const errors = report.violations.filter((v) => v.severity === 'error');
    expect(errors.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged error in either stack', () => {
    const report = new AwsSolutionsChecks().validateScope(t.app);
    const errors = report.violations.filter((v) => v.severity === 'error');
    expect(errors.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});
