/**
 * The HTTP interactions endpoint in the deployed app: an HTTP API with stage throttling and access
 * logs, a route for POST /interactions only, a function that may only send to the interactions queue,
 * the optional WAF (CloudFront), the local stage, configuration errors and cdk-nag.
 */
import { type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppConfigError } from '../../lib/config/app-config';
import { synthLocalTemplate } from '../../lib/stacks/local-stack';
import { buildTestApp, iamStatements, testConfig, type Resources, type TestApp } from './helpers';

const KEY = 'a'.repeat(32) + 'B'.repeat(32);
const WEB_ACL = 'arn:aws:wafv2:us-east-1:123456789012:global/webacl/discord/0123abcd-0123-abcd-0123-0123456789ab';
const DATA_ACTION = /^(events|s3|secretsmanager|sqs|rds-db|kms|ssm|dynamodb|dax|sns|lambda):/i;

const nagErrors = (t: TestApp) =>
  new AwsSolutionsChecks()
    .validateScope(t.app)
    .violations.filter((v) => v.severity === 'error')
    .map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`);

describe('HTTP interactions endpoint (gateway stack)', () => {
  let t: TestApp;
  let gateway: Template;
  let res: Resources;
  const gid = (c: IConstruct) => t.gateway.getLogicalId(c.node.defaultChild as CfnElement);

  beforeAll(() => {
    t = buildTestApp({ envName: 'test', discordPublicKey: KEY, httpInteractionsRateLimit: 50, httpInteractionsBurstLimit: 80 });
    t.app.synth();
    gateway = Template.fromStack(t.gateway);
    res = gateway.toJSON().Resources as Resources;
  });

  it('serves POST /interactions only, through a Lambda proxy integration (payload 2.0)', () => {
    gateway.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    gateway.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    gateway.resourceCountIs('AWS::ApiGatewayV2::Route', 1);
    gateway.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /interactions' });
    gateway.hasResourceProperties('AWS::ApiGatewayV2::Integration', { IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
  });

  it('throttles the stage at the configured rate and burst and writes an access log line per request', () => {
    const ep = t.gateway.httpInteractions!;
    gateway.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 },
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [gid(ep.accessLogs), 'Arn'] }, Format: Match.stringLikeRegexp('\\$context\\.requestId') },
    });
    const format = (Object.values(res).find((r) => r.Type === 'AWS::ApiGatewayV2::Stage')!.Properties!.AccessLogSettings as { Format: string }).Format;
    expect(format).toContain('$context.status');
    expect(format).not.toMatch(/\$input|\$request\.body|header/i);
  });

  it('gives the function the key, the application and the interactions queue, with a 3 s timeout', () => {
    const ep = t.gateway.httpInteractions!;
    const fn = res[gid(ep.function)]!.Properties!;
    const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.DISCORD_PUBLIC_KEY).toBe(KEY.toLowerCase());
    expect(env.DISCORD_APPLICATION_ID).toBe(t.config.discordApplicationId);
    expect(env.INTERACTION_QUEUE_URL).toEqual({ Ref: gid(t.gateway.eventBus.tiers.interactions!.queue) });
    expect(fn.Timeout).toBe(3);
    expect(Object.keys(env).some((k) => k.startsWith('DISCORD_TOKEN') || k.startsWith('REDIS') || k.startsWith('DB_'))).toBe(false);
    expect(fn.VpcConfig).toBeUndefined();
  });

  it('lets the function send to the interactions queue and nothing else (no wildcard, no other data action)', () => {
    const ep = t.gateway.httpInteractions!;
    const roleRef = JSON.stringify({ Ref: gid(ep.function.role!) });
    const mine = iamStatements(res).filter((s) => ((res[s.owner]!.Properties?.Roles as unknown[] | undefined) ?? []).some((r) => JSON.stringify(r) === roleRef));
    const data = mine.filter((s) => s.Action.some((a) => DATA_ACTION.test(a)));
    expect(data).toHaveLength(1);
    expect(data[0]!.Action.sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage']);
    expect(data[0]!.Resource).toEqual([{ 'Fn::GetAtt': [gid(t.gateway.eventBus.tiers.interactions!.queue), 'Arn'] }]);
    // everything else on the role is X-Ray (which takes no resource)
    expect(
      mine
        .filter((s) => s !== data[0])
        .flatMap((s) => s.Action)
        .every((a) => a.startsWith('xray:')),
    ).toBe(true);
    expect((res[gid(ep.function.role!)]!.Properties!.ManagedPolicyArns as unknown[]).map((a) => JSON.stringify(a))).toEqual([expect.stringContaining('AWSLambdaBasicExecutionRole')]);
  });

  it('lets only this API invoke the function', () => {
    const perms = Object.values(res).filter((r) => r.Type === 'AWS::Lambda::Permission' && JSON.stringify(r.Properties!.FunctionName).includes(gid(t.gateway.httpInteractions!.function)));
    expect(perms).toHaveLength(1);
    expect(perms[0]!.Properties!.Principal).toBe('apigateway.amazonaws.com');
    expect(JSON.stringify(perms[0]!.Properties!.SourceArn)).toContain(gid(t.gateway.httpInteractions!.api));
  });

  it('outputs the Interactions Endpoint URL', () => {
    gateway.hasOutput('InteractionsEndpointUrl', { Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/interactions$')])] } });
  });

  it('passes cdk-nag AwsSolutions with no unacknowledged error', () => {
    expect(nagErrors(t)).toEqual([]);
  });
});

describe('HTTP interactions endpoint options', () => {
  it('is absent without a public key (interactions over the gateway only)', () => {
    const t = buildTestApp({ envName: 'test' });
    const g = Template.fromStack(t.gateway);
    g.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    expect(t.gateway.httpInteractions).toBeUndefined();
  });

  it('puts CloudFront with the configured web ACL in front when a WAF is configured, forwarding the signature headers', () => {
    const t = buildTestApp({ envName: 'test', discordPublicKey: KEY, httpInteractionsWebAclArn: WEB_ACL });
    t.app.synth();
    const g = Template.fromStack(t.gateway);
    g.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        WebACLId: WEB_ACL,
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'https-only', AllowedMethods: Match.arrayWith(['POST']) }),
      }),
    });
    g.hasOutput('InteractionsEndpointUrl', { Value: { 'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('/interactions$')])] } });
    const outputs = g.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(JSON.stringify(outputs.InteractionsEndpointUrl!.Value)).toContain('DomainName');
    expect(nagErrors(t)).toEqual([]);
  });

  it('refuses a key that is not 64 hex characters and a web ACL that is not CLOUDFRONT-scoped, naming the setting', () => {
    const problem = (ctx: Record<string, unknown>) => {
      try {
        testConfig(ctx);
      } catch (e) {
        expect(e).toBeInstanceOf(AppConfigError);
        return (e as Error).message;
      }
      return '';
    };
    expect(problem({ discordPublicKey: 'abc' })).toMatch(/discordPublicKey \(context\) \/ DISCORD_PUBLIC_KEY \(env\).*64 hex.*got "abc"/);
    expect(problem({ discordPublicKey: KEY, httpInteractionsWebAclArn: WEB_ACL.replace('us-east-1', 'eu-west-1').replace('global', 'regional') })).toMatch(/httpInteractionsWebAclArn.*CLOUDFRONT/);
  });

  it('is in the local stage too, so the local pipeline serves it from the same template', () => {
    const tpl = synthLocalTemplate({ discordPublicKey: KEY }) as { Resources: Resources };
    const fns = Object.values(tpl.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && (r.Properties!.Environment as { Variables: Record<string, unknown> }).Variables.WORKER === 'http-ingress');
    expect(fns).toHaveLength(1);
    expect(Object.values(tpl.Resources).some((r) => r.Type === 'AWS::ApiGatewayV2::Stage')).toBe(true);
    expect(Object.values(synthLocalTemplate().Resources as Resources).some((r) => r.Type === 'AWS::ApiGatewayV2::Api')).toBe(false);
  });
});
