#!/usr/bin/env node
/**
 * `npm run deploy:local`: deploys the local stage of the CDK app to whatever answers at
 * AWS_ENDPOINT_URL (default http://127.0.0.1:4566: MiniStack from `npm run env:up`, or LocalStack)
 * with the CDK CLI itself:
 *
 *   npx cdk bootstrap aws://000000000000/us-east-1        (once; skipped when CDKToolkit exists)
 *   npx cdk deploy DiscordGateway-<env>-Local -c stage=local --exclusively --require-approval never \
 *     -c localDiscordApiUrl=... -c scoreServiceUrl=... -c localDatabaseUrl=... ...
 *
 * The context points the workers at the local services on their fixed ports (the Discord simulator
 * on LOCAL_SIMULATOR_PORT, default 7150; the score service on LOCAL_SCORE_PORT, default 7151; Redis and
 * PostgreSQL from local/env.sh); the bot token goes through the emulator's Secrets Manager. The
 * emulator runs the worker functions from their SQS event source mappings. Then it prints the
 * stack's outputs and the functions' mappings as the emulator reports them.
 *
 *   npm run deploy:local
 */
import { errorMessage } from '../lib/contract';
import { LOCAL_CDK_OUT, deployLocalStack } from '../local/pipeline/deploy';
import { EventSourceMappings } from '../local/pipeline/mappings';
import { localBotTokenSecret, localStageContext, scoreServiceUrl, simulatorRestUrl } from '../local/pipeline/index';

async function main(): Promise<void> {
  const t0 = Date.now();
  const log = (m: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${m}`);
  const context = localStageContext({ simulatorRestUrl: simulatorRestUrl(), scoreServiceUrl: scoreServiceUrl(), botTokenSecretArn: await localBotTokenSecret() });
  const r = await deployLocalStack({ context, log });
  const o = r.outputs;
  console.log(`\n${o.stackName}: ${o.status} (cloud assembly in ${LOCAL_CDK_OUT})`);
  console.log(`  bus ${o.busName}, claim-check bucket ${o.claimCheckBucket}${o.httpInteractionsUrl ? `, HTTP interactions ${o.httpInteractionsUrl}` : ''}`);
  for (const [tier, t] of Object.entries(o.tiers)) console.log(`  ${tier}: ${t.queueUrl}\n    DLQ ${t.dlqUrl}\n    rule target DLQ ${t.targetDlqUrl}`);
  const mappings = new EventSourceMappings({ interaction: o.functions.interaction, member: o.functions.member, guild: o.functions.guild });
  for (const m of await mappings.list()) {
    console.log(`  function ${m.functionName} (${m.worker}) <- mapping ${m.uuid}: ${m.state}, batch ${m.batchSize}, max concurrency ${m.maximumConcurrency ?? '-'}, ${m.functionResponseTypes.join(',') || 'no partial failures'}`);
  }
  mappings.close();
}

main().catch((err: unknown) => {
  console.error(`deploy:local: ${errorMessage(err)}`);
  process.exit(1);
});
