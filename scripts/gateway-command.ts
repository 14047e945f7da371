/**
 * `npm run gateway-command -- ...`: queues one command for the gateway (issue 16), which the ingestor
 * task holding the shard sends to Discord. The command is checked against Discord's limits first
 * (lib/contract/gateway-commands.ts); a bad one is refused (exit 2) and nothing is queued.
 *
 *   npm run gateway-command -- --app ID --guild G request-members (--query PREFIX --limit N | --user-ids A,B) [--nonce N] [--presences]
 *   npm run gateway-command -- --app ID --shard 0 presence --status idle [--activity NAME [--activity-type watching] [--url URL] [--state TEXT]] [--afk]
 *   npm run gateway-command -- --app ID --guild G voice (--channel C | --leave) [--self-mute] [--self-deaf]
 *   npm run gateway-command -- --app ID soundboard --guilds A,B
 *
 * The target is the shard of `--guild` (Discord's formula with the shard count the ingestor publishes)
 * or `--shard N`; `soundboard` without either goes to the shard of its first guild. `--app` defaults
 * to DISCORD_APPLICATION_ID. Redis: REDIS_URL and REDIS_AUTH_SECRET_ARN as for `npm run apps`,
 * REDIS_KEY_PREFIX when the tasks use another namespace.
 */
import { parseArgs } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ActivityType, GatewayOpcodes } from 'discord-api-types/v10';
import { ContractError } from '../lib/contract';
import { redisKeyPrefix } from '../lambdas/shared/config';
import { GatewayCommandUnavailableError, sendGatewayCommand, type GatewayCommandTarget } from '../lambdas/shared/gateway-commands';
import { createRedis } from '../shared/redis';

const USAGE = `usage: npm run gateway-command -- --app ID (--guild G | --shard N) <command> [options]
  request-members (--query PREFIX --limit N | --user-ids A,B,...) [--nonce TEXT] [--presences]
  presence [--status online|dnd|idle|invisible|offline] [--activity NAME [--activity-type playing|streaming|listening|watching|custom|competing] [--url URL] [--state TEXT]] [--afk] [--since MS]
  voice (--channel C | --leave) [--self-mute] [--self-deaf]
  soundboard --guilds A,B,...`;

const OPTIONS = {
  app: { type: 'string' },
  guild: { type: 'string' },
  shard: { type: 'string' },
  query: { type: 'string' },
  limit: { type: 'string' },
  'user-ids': { type: 'string' },
  nonce: { type: 'string' },
  presences: { type: 'boolean' },
  status: { type: 'string' },
  activity: { type: 'string' },
  'activity-type': { type: 'string' },
  url: { type: 'string' },
  state: { type: 'string' },
  afk: { type: 'boolean' },
  since: { type: 'string' },
  channel: { type: 'string' },
  leave: { type: 'boolean' },
  'self-mute': { type: 'boolean' },
  'self-deaf': { type: 'boolean' },
  guilds: { type: 'string' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

const list = (s: string | undefined): string[] | undefined =>
  s
    ?.split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '');
/** A number option as given: the schema reports what is wrong with it (NaN included). */
const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));

function activityType(s: string | undefined): number {
  if (s === undefined) return ActivityType.Playing;
  const named = Object.entries(ActivityType).find(([k]) => k.toLowerCase() === s.toLowerCase());
  return typeof named?.[1] === 'number' ? named[1] : Number(s);
}

/** The command as the subcommand and its options describe it (validated by the sender). */
function buildCommand(sub: string | undefined, v: Values): unknown {
  switch (sub) {
    case 'request-members': {
      const userIds = list(v['user-ids']);
      return {
        op: GatewayOpcodes.RequestGuildMembers,
        d: { guild_id: v.guild, query: v.query, limit: num(v.limit), user_ids: userIds && userIds.length === 1 ? userIds[0] : userIds, presences: v.presences, nonce: v.nonce },
      };
    }
    case 'presence':
      return {
        op: GatewayOpcodes.PresenceUpdate,
        d: {
          since: num(v.since) ?? null,
          activities: v.activity === undefined ? [] : [{ name: v.activity, type: activityType(v['activity-type']), url: v.url, state: v.state }],
          status: v.status ?? 'online',
          afk: v.afk ?? false,
        },
      };
    case 'voice':
      if ((v.channel === undefined) === (v.leave !== true)) throw new UsageError('voice needs exactly one of --channel C or --leave');
      return { op: GatewayOpcodes.VoiceStateUpdate, d: { guild_id: v.guild, channel_id: v.leave ? null : v.channel, self_mute: v['self-mute'] ?? false, self_deaf: v['self-deaf'] ?? false } };
    case 'soundboard':
      return { op: GatewayOpcodes.RequestSoundboardSounds, d: { guild_ids: list(v.guilds) ?? [] } };
    default:
      throw new UsageError(sub ? `unknown command ${sub}` : 'no command given');
  }
}

function targetOf(v: Values, command: unknown): GatewayCommandTarget {
  if (v.shard !== undefined) {
    if (!/^\d+$/.test(v.shard)) throw new UsageError(`--shard: expected a whole number >= 0 (got ${JSON.stringify(v.shard)})`);
    return { shardId: Number(v.shard) };
  }
  if (v.guild !== undefined) return { guildId: v.guild };
  const guildIds = (command as { d?: { guild_ids?: unknown } }).d?.guild_ids;
  if (Array.isArray(guildIds) && typeof guildIds[0] === 'string') return { guildId: guildIds[0] };
  throw new UsageError('give the target: --guild G (its shard) or --shard N');
}

/** Drops the options a command does not take, so `undefined` fields do not count as given. */
const defined = (command: unknown): unknown => JSON.parse(JSON.stringify(command)) as unknown;

async function main(argv: string[]): Promise<number> {
  let v: Values;
  let positionals: string[];
  try {
    ({ values: v, positionals } = parseArgs({ args: argv, allowPositionals: true, options: OPTIONS }));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  const appId = v.app ?? process.env.DISCORD_APPLICATION_ID;
  let command: unknown;
  let target: GatewayCommandTarget;
  try {
    if (!appId) throw new UsageError('--app ID (or DISCORD_APPLICATION_ID) is required');
    command = defined(buildCommand(positionals[0], v));
    target = targetOf(v, command);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  const url = process.env.REDIS_URL;
  if (!url) {
    console.error('set REDIS_URL (and REDIS_AUTH_SECRET_ARN when Redis demands a password) to the Redis the ingestor tasks use');
    return 2;
  }
  const arn = process.env.REDIS_AUTH_SECRET_ARN;
  const redis = await createRedis({ url, authSecretArn: arn }, arn ? new SecretsManagerClient({}) : undefined, (msg, extra) => console.error(msg, extra));
  try {
    const sent = await sendGatewayCommand(redis, appId, target, command, { ns: redisKeyPrefix(), origin: 'cli', metrics: null, log: null });
    console.log(`queued on shard ${sent.shardId}: stream entry ${sent.streamId}, command id ${sent.id}`);
    return 0;
  } catch (err) {
    if (err instanceof ContractError) {
      console.error(err.message);
      return 2;
    }
    if (err instanceof GatewayCommandUnavailableError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  } finally {
    redis.disconnect();
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
export { main as gatewayCommandCli };
