/** `npm run apps` as the operator runs it (node, not npm: no wrapper), against the Redis the tasks use. */
import { spawnSync } from 'node:child_process';
import { localAwsConfig } from '../../local/aws';

/** Runs scripts/apps.ts with `args`; returns its stdout, throws with its stderr when it fails. */
export function appsCli(redis: { REDIS_URL?: string; REDIS_AUTH_SECRET_ARN?: string }, ns: string, args: string[]): string {
  const aws = localAwsConfig();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/apps.ts', ...args], {
    env: {
      ...process.env,
      REDIS_URL: redis.REDIS_URL ?? '',
      REDIS_AUTH_SECRET_ARN: redis.REDIS_AUTH_SECRET_ARN ?? '',
      REDIS_KEY_PREFIX: ns,
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`npm run apps ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
