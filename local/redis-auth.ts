/**
 * The local Redis that demands a password (started by `bash local/env.sh up` on 127.0.0.1:6380), as
 * ElastiCache does in AWS. Its password lives in the state directory and, through `redisAuthSecret()`,
 * in the AWS endpoint's Secrets Manager: processes under test get only REDIS_URL and
 * REDIS_AUTH_SECRET_ARN, exactly as the deployed ingestor and workers do.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import Redis from 'ioredis';
import { localAwsConfig } from './aws';

export const REDIS_AUTH_URL = `redis://127.0.0.1:${process.env.REDIS_AUTH_PORT ?? '6380'}`;
const SECRET_NAME = 'discord-gateway-proxy/local/redis-auth';

const stateDir = () => process.env.GATEWAY_PROXY_STATE_DIR ?? join(homedir(), '.local', 'state', 'discord-gateway-proxy');

function password(): string {
  try {
    return readFileSync(join(stateDir(), 'redis-auth.password'), 'utf8').trim();
  } catch {
    throw new Error(`no password for the local Redis with AUTH in ${stateDir()}/redis-auth.password: run bash local/env.sh up`);
  }
}

const arnOf = (r: { ARN?: string }) => {
  if (!r.ARN) throw new Error(`Secrets Manager answered without the ARN of ${SECRET_NAME}`);
  return r.ARN;
};

/** The secret holding the local AUTH Redis password (created or updated): its ARN. */
export async function redisAuthSecret(sm = new SecretsManagerClient(localAwsConfig())): Promise<string> {
  const value = password();
  try {
    return arnOf(await sm.send(new CreateSecretCommand({ Name: SECRET_NAME, SecretString: value })));
  } catch (err) {
    if (!(err instanceof ResourceExistsException) && (err as Error).name !== 'ResourceExistsException') throw err;
    return arnOf(await sm.send(new PutSecretValueCommand({ SecretId: SECRET_NAME, SecretString: value })));
  }
}

/** REDIS_URL and REDIS_AUTH_SECRET_ARN of the local AUTH Redis, for a process's environment. */
export async function redisAuthEnv(): Promise<{ REDIS_URL: string; REDIS_AUTH_SECRET_ARN: string }> {
  return { REDIS_URL: REDIS_AUTH_URL, REDIS_AUTH_SECRET_ARN: await redisAuthSecret() };
}

/** A client of the AUTH Redis for the tools and tests themselves (inspecting what a process wrote). */
export const redisAuthClient = (): Redis => new Redis(REDIS_AUTH_URL, { password: password(), maxRetriesPerRequest: 2 });
