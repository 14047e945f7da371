/**
 * Sends a command to the gateway (issue 16): a worker (or `npm run gateway-command`) asks the ingestor
 * task holding a shard to send Update Presence, Update Voice State, Request Guild Members or Request
 * Soundboard Sounds on it. The contract (keys, entry, validation) is lib/contract/gateway-commands.ts.
 *
 * The command is validated before anything is written: a bad command is refused here, with every bad
 * field named, and never queued. A command aimed at a guild must go to the shard holding that guild
 * (Discord ignores a guild another session serves), so the target and the command's guild ids must agree.
 */
import { randomUUID } from 'node:crypto';
import { GatewayOpcodes } from 'discord-api-types/v10';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type Redis from 'ioredis';
import { COMMAND_GROUP, COMMAND_STREAM_MAXLEN, ContractError, commandKeys, encodeCommandEntry, parseGatewayCommand, shardForGuild, type GatewayCommand } from '../../lib/contract';
import { redisKeyPrefix } from './config';
import { coreLogger, type CoreLogger } from './logger';
import { metrics as workerMetrics } from './metrics';

export type GatewayCommandTarget = { guildId: string } | { shardId: number };

export interface SendGatewayCommandOptions {
  /** the Redis key namespace @default REDIS_KEY_PREFIX, else 'gw' (the ingestor's default) */
  ns?: string;
  /** who sends it, for the ingestor's logs @default POWERTOOLS_SERVICE_NAME, else 'worker' */
  origin?: string;
  /** GatewayCommandsQueued / GatewayCommandsRefused by Opcode @default the worker metrics; null: none */
  metrics?: Pick<Metrics, 'singleMetric'> | null;
  /** where a refusal is logged @default the worker logger; null: nowhere */
  log?: Pick<CoreLogger, 'warn'> | null;
}

export interface QueuedGatewayCommand {
  shardId: number;
  /** the stream entry's id */
  streamId: string;
  /** the command's uuid (the entry's `id` field) */
  id: string;
}

/** No ingestor has written the shard count yet (none is running for the application, or it is starting): worth a retry. */
export class GatewayCommandUnavailableError extends Error {
  override readonly name = 'GatewayCommandUnavailableError';
}

export async function sendGatewayCommand(redis: Redis, appId: string, target: GatewayCommandTarget, command: unknown, opts: SendGatewayCommandOptions = {}): Promise<QueuedGatewayCommand> {
  const metrics = opts.metrics === undefined ? workerMetrics : opts.metrics;
  const log = opts.log === undefined ? coreLogger : opts.log;
  const op = opcodeOf(command);
  let parsed: GatewayCommand;
  try {
    parsed = parseGatewayCommand(command);
    checkTargetShape(target);
  } catch (err) {
    refused(err, op, appId, opts.origin, metrics, log);
    throw err;
  }
  const ns = opts.ns ?? redisKeyPrefix();
  const keys = commandKeys(ns, appId);
  const shardCount = await readShardCount(redis, keys.shardCount(), appId);
  let shardId: number;
  try {
    shardId = targetShard(target, parsed, shardCount);
  } catch (err) {
    refused(err, op, appId, opts.origin, metrics, log);
    throw err;
  }
  const id = randomUUID();
  const stream = keys.stream(shardId);
  const fields = encodeCommandEntry({ command: parsed, queuedAt: Date.now(), origin: opts.origin ?? process.env.POWERTOOLS_SERVICE_NAME ?? 'worker', id });
  // one round trip: the group exists before the entry (MKSTREAM), so the fleet's readers see it;
  // BUSYGROUP (it existed) fails only the XGROUP inside the transaction
  const results = await redis
    .multi()
    .xgroup('CREATE', stream, COMMAND_GROUP, '0', 'MKSTREAM')
    .xadd(stream, 'MAXLEN', '~', COMMAND_STREAM_MAXLEN, '*', ...fields)
    .exec();
  const [groupResult, addResult] = results ?? [];
  const groupError = groupResult?.[0];
  if (groupError && !groupError.message.startsWith('BUSYGROUP')) throw groupError;
  if (!addResult || addResult[0]) throw addResult?.[0] ?? new Error(`XADD to ${stream} was not executed`);
  const streamId = addResult[1];
  if (typeof streamId !== 'string') throw new Error(`XADD to ${stream} answered no entry id`);
  if (metrics) count(metrics, 'GatewayCommandsQueued', parsed.op);
  return { shardId, streamId, id };
}

const opcodeOf = (command: unknown): string => {
  const op = typeof command === 'object' && command !== null ? (command as { op?: unknown }).op : undefined;
  return typeof op === 'number' && Number.isInteger(op) ? String(op) : 'invalid';
};

function count(metrics: Pick<Metrics, 'singleMetric'>, name: string, op: number | string): void {
  // a metric of its own: the Opcode dimension must not attach to the worker's other metrics
  const m = metrics.singleMetric();
  m.addDimension('Opcode', String(op));
  m.addMetric(name, MetricUnit.Count, 1);
}

function refused(err: unknown, op: string, appId: string, origin: string | undefined, metrics: Pick<Metrics, 'singleMetric'> | null, log: Pick<CoreLogger, 'warn'> | null): void {
  if (metrics) count(metrics, 'GatewayCommandsRefused', op);
  // the details name fields and limits, never values of the command
  const problems = err instanceof ContractError ? err.details : [err instanceof Error ? err.message : 'unknown error'];
  log?.warn('gateway command refused', { appId, opcode: op, origin, problems });
}

function checkTargetShape(target: GatewayCommandTarget): void {
  if ('guildId' in target) {
    if (typeof target.guildId !== 'string' || !/^\d{1,20}$/.test(target.guildId)) throw new ContractError('INVALID_GATEWAY_COMMAND', 'invalid target', ['target.guildId: expected a snowflake']);
  } else if (!Number.isInteger(target.shardId) || target.shardId < 0) {
    throw new ContractError('INVALID_GATEWAY_COMMAND', 'invalid target', [`target.shardId: expected a whole number >= 0 (got ${String(target.shardId)})`]);
  }
}

async function readShardCount(redis: Redis, key: string, appId: string): Promise<number> {
  const raw = await redis.get(key);
  if (raw === null) throw new GatewayCommandUnavailableError(`no ingestor has published the shard count of application ${appId} yet (${key}): is an ingestor task serving it?`);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new GatewayCommandUnavailableError(`the shard count of application ${appId} at ${key} is not a whole number >= 1`);
  return n;
}

/** The guild ids whose shard must be the target's. */
function guildIdsOf(command: GatewayCommand): string[] {
  if ('guild_ids' in command.d) return command.d.guild_ids;
  if ('guild_id' in command.d) return [command.d.guild_id];
  return [];
}

function targetShard(target: GatewayCommandTarget, command: GatewayCommand, shardCount: number): number {
  const shardId = 'guildId' in target ? shardForGuild(target.guildId, shardCount) : target.shardId;
  if (shardId >= shardCount) throw new ContractError('INVALID_GATEWAY_COMMAND', 'invalid target', [`target.shardId: the application has ${shardCount} shard(s), 0..${shardCount - 1} (got ${shardId})`]);
  const elsewhere = guildIdsOf(command).filter((g) => shardForGuild(g, shardCount) !== shardId);
  if (elsewhere.length > 0) {
    const field = command.op === GatewayOpcodes.RequestSoundboardSounds ? 'd.guild_ids' : 'd.guild_id';
    throw new ContractError('INVALID_GATEWAY_COMMAND', 'invalid target', [`${field}: ${elsewhere.join(', ')} not on shard ${shardId} of ${shardCount} (one command per shard)`]);
  }
  return shardId;
}
