/**
 * The bot-token REST client of a worker container: the token from DISCORD_TOKEN (local) or from
 * Secrets Manager (DISCORD_TOKEN_SECRET_ARN, plain text or {"token": ...}), read once per container,
 * behind the Redis-shared rate limiter. Only the member and guild workers get the secret (CDK).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { REST } from '@discordjs/rest';
import type Redis from 'ioredis';
import { readSecret } from '../../shared/secrets';
import type { WorkerConfig } from './config';
import { SharedRateLimitedRest } from './discord-rest';

let token: Promise<string> | undefined;

export async function botToken(cfg: WorkerConfig, sm: Pick<SecretsManagerClient, 'send'> = new SecretsManagerClient({})): Promise<string> {
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

export async function createBotRest(cfg: WorkerConfig, redis: Redis, sm?: Pick<SecretsManagerClient, 'send'>): Promise<SharedRateLimitedRest> {
  const rest = new REST({ api: cfg.DISCORD_API_URL ?? 'https://discord.com/api', retries: 3 }).setToken(await botToken(cfg, sm));
  return new SharedRateLimitedRest(rest, redis, {
    prefix: `discord:rl:${cfg.DISCORD_APPLICATION_ID}`,
    // a rejected token may have been rotated in Secrets Manager: read it again, once per 401 episode
    onUnauthorized: async () => {
      forgetBotToken();
      rest.setToken(await botToken(cfg, sm));
    },
  });
}
