/**
 * The environment a worker container gets locally, as a deployed one would: the AWS endpoint (the
 * emulator), Redis that demands a password read from Secrets Manager, and PostgreSQL as the worker role.
 * Tests that run a worker's real handler in-process put it in process.env before the first invocation.
 */
import { DEFAULT_LOCAL_ENDPOINT } from './aws';
import { redisAuthEnv } from './redis-auth';

export async function localWorkerEnv(): Promise<Record<string, string>> {
  return {
    ...(await redisAuthEnv()),
    AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL ?? DEFAULT_LOCAL_ENDPOINT,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    DATABASE_URL: 'postgres://gateway_worker:gateway_worker@127.0.0.1:5432/gateway_proxy',
  };
}
