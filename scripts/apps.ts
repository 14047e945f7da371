/**
 * `npm run apps -- <command>`: the application registry (shared/app-registry.ts). Ingestor tasks
 * pick a change up within REGISTRY_REFRESH_MS (5 s): an added bot's shards are leased and connected,
 * a removed bot's shards are handed off and stopped. No deploy, no restart.
 *
 *   npm run apps -- list
 *   npm run apps -- add --app-id ID (--token-secret-arn ARN | --token TOKEN) [--intents N] [--shards N] [--api-url URL] [--public-key HEX]
 *   npm run apps -- remove --app-id ID
 *
 * Redis: REDIS_URL and REDIS_AUTH_SECRET_ARN, as the ingestor reads them (AWS_ENDPOINT_URL for the
 * local endpoint's Secrets Manager); REDIS_KEY_PREFIX when the tasks use another namespace.
 */
import { parseArgs } from 'node:util';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { listApplications, putApplication, removeApplication, ApplicationSchema } from '../shared/app-registry';
import { createRedis } from '../shared/redis';
import { APP_TOKEN_SECRET_PREFIX } from '../lib/contract';

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'app-id': { type: 'string' },
      'token-secret-arn': { type: 'string' },
      token: { type: 'string' },
      intents: { type: 'string' },
      shards: { type: 'string' },
      'api-url': { type: 'string' },
      'public-key': { type: 'string' },
    },
  });
  const cmd = positionals[0];
  const url = process.env.REDIS_URL;
  if (!url) {
    console.error('set REDIS_URL (and REDIS_AUTH_SECRET_ARN when Redis demands a password) to the Redis the ingestor tasks use');
    return 2;
  }
  const ns = process.env.REDIS_KEY_PREFIX ?? 'gw';
  const arn = process.env.REDIS_AUTH_SECRET_ARN;
  const redis = await createRedis({ url, authSecretArn: arn }, arn ? new SecretsManagerClient({}) : undefined, (msg, extra) => console.error(msg, extra));
  try {
    if (cmd === 'list') {
      const apps = await listApplications(redis, ns, (msg, extra) => console.error(msg, JSON.stringify(extra)));
      if (apps.length === 0) console.log('no applications in the registry (the tasks serve only their own DISCORD_APPLICATION_ID)');
      for (const a of apps) console.log(`${a.appId}  shards ${a.shardCount ?? 'auto'}  intents ${a.intents ?? 'default'}  token ${a.tokenSecretArn ?? (a.token ? '(inline, local only)' : '-')}${a.apiUrl ? `  api ${a.apiUrl}` : ''}`);
      return 0;
    }
    if (cmd === 'add') {
      const r = ApplicationSchema.safeParse({
        appId: values['app-id'],
        tokenSecretArn: values['token-secret-arn'],
        token: values.token,
        intents: values.intents === undefined ? undefined : Number(values.intents),
        shardCount: values.shards === undefined ? undefined : Number(values.shards),
        apiUrl: values['api-url'],
        publicKey: values['public-key'],
      });
      if (!r.success) {
        console.error(`cannot add the application: ${r.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; ')}`);
        return 2;
      }
      await putApplication(redis, r.data, ns);
      console.log(`added ${r.data.appId}: the ingestor tasks start its shards within a few seconds`);
      // the deployed roles read token secrets by this name prefix only (lib/constructs/app-token-secrets.ts)
      const arn = r.data.tokenSecretArn;
      if (arn && !arn.includes(`:secret:${APP_TOKEN_SECRET_PREFIX}`)) console.error(`warning: the ingestor and the workers may read only secrets named ${APP_TOKEN_SECRET_PREFIX}...; ${arn} is not, so in AWS reading it is denied: store the token under that prefix`);
      return 0;
    }
    if (cmd === 'remove') {
      const id = values['app-id'];
      if (!id) {
        console.error('remove needs --app-id');
        return 2;
      }
      console.log((await removeApplication(redis, id, ns)) ? `removed ${id}: the tasks hand its shards off and stop them within a few seconds` : `${id} is not in the registry`);
      return 0;
    }
    console.error('usage: npm run apps -- list | add --app-id ID (--token-secret-arn ARN | --token TOKEN) [--intents N] [--shards N] [--api-url URL] | remove --app-id ID');
    return 2;
  } finally {
    redis.disconnect();
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => process.exit(code));
export { main as appsCli };
