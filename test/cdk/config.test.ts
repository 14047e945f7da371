import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { AppConfigError, loadAppConfig, parseShardGroups } from '../../lib/config/app-config';
import { DEFAULT_ROUTING_TABLE, TIER_NAMES } from '../../lib/contract';

const load = (context: Record<string, unknown> = {}, env: Record<string, string> = {}) => loadAppConfig((k) => context[k], env);
const problems = (context: Record<string, unknown>, env: Record<string, string> = {}): string => {
  try {
    load(context, env);
  } catch (e) {
    expect(e).toBeInstanceOf(AppConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a configuration error');
};

describe('app configuration (bin/ reads it once, validated with zod)', () => {
  it('has working defaults: one shard, the default routing table, retained stateful resources', () => {
    const c = load();
    expect(c).toMatchObject({ envName: 'dev', totalShards: 1, shardGroups: [[0]], removalPolicy: 'retain', dbMultiAz: true, interactionMaxAgeSeconds: 2 });
    expect(c.routing).toEqual(DEFAULT_ROUTING_TABLE);
  });

  it('splits shards into groups of shardsPerTask, or takes SHARD_GROUPS as given', () => {
    expect(load({ totalShards: 10, shardsPerTask: 4 }).shardGroups).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ]);
    expect(load({}, { TOTAL_SHARDS: '8', SHARD_GROUPS: '0-3;4-7' }).shardGroups).toEqual([
      [0, 1, 2, 3],
      [4, 5, 6, 7],
    ]);
    expect(parseShardGroups('0-1,2-3')).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('prefers context over the environment', () => {
    expect(load({ envName: 'prod' }, { ENV_NAME: 'staging' }).envName).toBe('prod');
  });

  it('names SHARD_GROUPS and TOTAL_SHARDS when shard ids exceed the shard count', () => {
    expect(problems({}, { TOTAL_SHARDS: '4', SHARD_GROUPS: '4-9' })).toMatch(/shard ids 4,5,6,7,8,9 exceed totalShards=4: set TOTAL_SHARDS or narrow SHARD_GROUPS/);
  });

  it('refuses a shard in two groups and a shard with no group', () => {
    expect(problems({ totalShards: 4, shardGroups: '0-2;2-3' })).toMatch(/shard ids 2 are in more than one group/);
    expect(problems({ totalShards: 4, shardGroups: '0-1' })).toMatch(/shards 2,3 have no group/);
  });

  it('rejects a malformed shard range, naming it', () => {
    expect(problems({ shardGroups: '0-x' })).toMatch(/shardGroups \(context\) \/ SHARD_GROUPS \(env\): "0-x" is not a shard id or range/);
  });

  it('names the setting and the value received for a bad number or email', () => {
    expect(problems({}, { TOTAL_SHARDS: 'many' })).toMatch(/totalShards \(context\) \/ TOTAL_SHARDS \(env\):.*got "many"/);
    expect(problems({}, { ALARM_EMAIL: 'ops-at-example' })).toMatch(/ALARM_EMAIL \(env\):.*got "ops-at-example"/);
    expect(problems({}, { INGESTOR_CPU: '300' })).toMatch(/INGESTOR_CPU \(env\): one of 256, 512, 1024, 2048, 4096; got "300"/);
  });

  it('applies tier overrides through the contract and explains a visibility timeout that is too short', () => {
    const c = load({ tierOverrides: JSON.stringify({ members: { queue: { maxConcurrency: 20 } } }) });
    expect(c.routing.members.queue.maxConcurrency).toBe(20);
    expect(problems({ tierOverrides: { members: { queue: { visibilityTimeoutSeconds: 60 } } } })).toMatch(/TIER_OVERRIDES \(env\):.*members\.queue\.visibilityTimeoutSeconds=60 is below 6 x functionTimeoutSeconds=30: raise it to at least 180/);
    expect(problems({ tierOverrides: { presence: {} } })).toContain(`presence (tiers are ${TIER_NAMES.join(', ')})`);
  });

  it('parses provisioned pollers for the interactions tier and names a bad range', () => {
    expect(load({ interactionPollers: '2-4' }).interactionPollers).toEqual({ minimum: 2, maximum: 4 });
    expect(load().interactionPollers).toBeUndefined();
    expect(problems({}, { INTERACTION_POLLERS: '5-2' })).toMatch(/INTERACTION_POLLERS \(env\): 5-2 is outside/);
    expect(problems({}, { INTERACTION_POLLERS: 'two' })).toMatch(/INTERACTION_POLLERS \(env\): minimum-maximum provisioned pollers/);
  });

  it('stops `cdk synth` (bin/gateway-proxy.ts) with the message and exit code 1 on a bad value', async () => {
    const run = promisify(execFile);
    const err = await run('npx', ['tsx', 'bin/gateway-proxy.ts'], { env: { ...process.env, TOTAL_SHARDS: '4', SHARD_GROUPS: '4-9' } }).then(
      () => undefined,
      (e: unknown) => e as { code: number; stderr: string },
    );
    expect(err?.code).toBe(1);
    expect(err?.stderr).toMatch(/bad configuration:[\s\S]*exceed totalShards=4/);
  });
});
