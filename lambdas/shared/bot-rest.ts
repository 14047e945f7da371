/**
 * The bot-token REST clients of a worker container, one per application (issue 14): a deployment
 * serves several bots, and a request about an envelope must carry the token of the envelope's `appId`.
 *
 * - The configured application (DISCORD_APPLICATION_ID): the token from DISCORD_TOKEN (local) or from
 *   Secrets Manager (DISCORD_TOKEN_SECRET_ARN, plain text or {"token": ...}).
 * - Any other application: its entry in the application registry (shared/app-registry.ts, Redis hash
 *   `<REDIS_KEY_PREFIX>:apps`): the secret at its tokenSecretArn (or its inline token, local only) and its
 *   apiUrl when set.
 * - An application in neither is a ContractError (UNKNOWN_APPLICATION): the record is dead-lettered with
 *   that reason, and redriven once the application is registered.
 *
 * Each client sits behind the Redis-shared rate limiter under its own application's prefix (Discord's
 * limits are per token). Clients are kept for CLIENT_TTL_MS, so a registry change or a rotated secret
 * is picked up within minutes; a 401 re-reads the token at once. Only the workers CDK gives the secret
 * to use this (BOT_TOKEN_CONSUMERS).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { REST } from '@discordjs/rest';
import type Redis from 'ioredis';
import { ContractError } from '../../lib/contract';
import { getApplication, RegistryEntryError } from '../../shared/app-registry';
import { readSecret, type SecretsReader } from '../../shared/secrets';
import type { WorkerConfig } from './config';
import { SharedRateLimitedRest } from './discord-rest';

let token: Promise<string> | undefined;

/** The configured application's token, read once per container. */
export async function botToken(cfg: WorkerConfig, sm: SecretsReader = new SecretsManagerClient({})): Promise<string> {
  if (cfg.DISCORD_TOKEN) return cfg.DISCORD_TOKEN;
  if (!cfg.DISCORD_TOKEN_SECRET_ARN) throw new Error('this worker needs the bot token: set DISCORD_TOKEN_SECRET_ARN (or DISCORD_TOKEN locally)');
  token ??= readSecret(sm, cfg.DISCORD_TOKEN_SECRET_ARN, 'DISCORD_TOKEN_SECRET_ARN');
  token.catch(() => (token = undefined)); // a failed read is retried by the next invocation
  return token;
}

/** Forgets the cached token, so the next botToken() reads the secret again (after a 401: rotated?). */
export function forgetBotToken(): void {
  token = undefined;
}

/** The configured application's client (scripts/commands-register.ts and single-application callers). */
export async function createBotRest(cfg: WorkerConfig, redis: Redis, sm?: SecretsReader): Promise<SharedRateLimitedRest> {
  return new BotRestClients(cfg, redis, { sm }).restFor(cfg.DISCORD_APPLICATION_ID);
}

/** How long a client (and the token and registry entry it was built from) is kept. */
export const CLIENT_TTL_MS = 5 * 60_000;

interface Credentials {
  token: string;
  apiUrl: string;
}

export interface BotRestClientsOptions {
  sm?: SecretsReader;
  /** @default CLIENT_TTL_MS */
  ttlMs?: number;
  now?: () => number;
}

/** The bot-token REST client of each application this container has met, built on first use. */
export class BotRestClients {
  private readonly clients = new Map<string, { rest: Promise<SharedRateLimitedRest>; until: number }>();
  private readonly sm: SecretsReader;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly cfg: WorkerConfig,
    private readonly redis: Redis,
    opts: BotRestClientsOptions = {},
  ) {
    this.sm = opts.sm ?? new SecretsManagerClient({});
    this.ttlMs = opts.ttlMs ?? CLIENT_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** The client of `appId`; ContractError UNKNOWN_APPLICATION when no token is known for it. */
  async restFor(appId: string): Promise<SharedRateLimitedRest> {
    const cached = this.clients.get(appId);
    if (cached && cached.until > this.now()) return cached.rest;
    const rest = this.build(appId);
    this.clients.set(appId, { rest, until: this.now() + this.ttlMs });
    // a failed build (unknown application, unreadable secret) is tried again by the next record
    rest.catch(() => {
      if (this.clients.get(appId)?.rest === rest) this.clients.delete(appId);
    });
    return rest;
  }

  /** What a worker core takes as `botRest`: the client of `appId`, looked up when a request is made. */
  forApplication(appId: string): { put(route: `/${string}`): Promise<unknown> } {
    return { put: async (route) => (await this.restFor(appId)).put(route) };
  }

  private async build(appId: string): Promise<SharedRateLimitedRest> {
    const first = await this.credentials(appId);
    const rest = new REST({ api: first.apiUrl, retries: 3 }).setToken(first.token);
    return new SharedRateLimitedRest(rest, this.redis, {
      prefix: `discord:rl:${appId}`,
      // a rejected token may have been rotated in its secret: read it again, once per 401 episode
      onUnauthorized: async () => {
        if (appId === this.cfg.DISCORD_APPLICATION_ID) forgetBotToken();
        rest.setToken((await this.credentials(appId)).token);
      },
    });
  }

  private async credentials(appId: string): Promise<Credentials> {
    const defaultApi = this.cfg.DISCORD_API_URL ?? 'https://discord.com/api';
    if (appId === this.cfg.DISCORD_APPLICATION_ID && (this.cfg.DISCORD_TOKEN || this.cfg.DISCORD_TOKEN_SECRET_ARN)) {
      return { token: await botToken(this.cfg, this.sm), apiUrl: defaultApi };
    }
    // an unusable entry waits for an operator (dead-letter); a Redis failure is retried
    const app = await getApplication(this.redis, appId, this.cfg.REDIS_KEY_PREFIX).catch((err: unknown) => {
      throw err instanceof RegistryEntryError ? new ContractError('UNKNOWN_APPLICATION', err.message) : err;
    });
    if (!app) {
      throw new ContractError('UNKNOWN_APPLICATION', `no bot token for application ${appId}: it is not this worker's DISCORD_APPLICATION_ID and not in the application registry (${this.cfg.REDIS_KEY_PREFIX}:apps; npm run apps -- add)`);
    }
    const value = app.tokenSecretArn ? await readSecret(this.sm, app.tokenSecretArn, `tokenSecretArn of application ${appId}`) : app.token;
    if (!value) throw new ContractError('UNKNOWN_APPLICATION', `the registry entry of application ${appId} has no token`);
    return { token: value, apiUrl: app.apiUrl ?? defaultApi };
  }
}
