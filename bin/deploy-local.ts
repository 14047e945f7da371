#!/usr/bin/env node
/**
 * Deploys the local stage of the app to whatever answers at AWS_ENDPOINT_URL (default
 * http://127.0.0.1:4566: MiniStack from `npm run env:up`, or LocalStack with its auth token).
 *
 * The full stacks cannot run there (no VPC, Fargate, ElastiCache or RDS locally), so this synthesizes
 * the LocalGatewayStack (the same TieredEventBus and TierWorkers constructs the gateway stack uses),
 * writes its template to cdk.out/, and creates its bus, queues with redrive policies, rules and rule
 * targets with their DLQs on the endpoint from that template (local/wiring). The worker functions are
 * not created on the emulator: the local runner invokes the handlers the way the template's event
 * source mappings say, against local Redis and PostgreSQL.
 *
 *   npx tsx bin/deploy-local.ts            # create or update, print what exists
 *   npx tsx bin/deploy-local.ts --synth    # only write cdk.out/<stack>.local.template.json
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { AppConfigError, loadAppConfig } from '../lib/config/app-config';
import { synthLocalTemplate } from '../lib/stacks/local-stack';
import { localAwsConfig, localSqsConfig } from '../local/aws';
import { applyWiring } from '../local/wiring/apply';
import { planFromTemplate } from '../local/wiring/template';

async function main(): Promise<void> {
  const app = new App();
  let config;
  try {
    config = loadAppConfig((key) => app.node.tryGetContext(key));
  } catch (err) {
    if (err instanceof AppConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const template = synthLocalTemplate({ routing: config.routing });
  const out = path.join(__dirname, '..', 'cdk.out');
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `DiscordGateway-${config.envName}-Local.local.template.json`);
  fs.writeFileSync(file, JSON.stringify(template, null, 1));
  console.log(`local stage template: ${path.relative(process.cwd(), file)}`);
  if (process.argv.includes('--synth')) return;

  const endpoint = localAwsConfig().endpoint;
  const plan = planFromTemplate(template);
  const applied = await applyWiring(plan, new EventBridgeClient(localAwsConfig()), new SQSClient(localSqsConfig()), {
    prefix: `gateway-${config.envName}`,
    table: config.routing,
  }).catch((err: Error) => {
    console.error(`could not deploy the local stage to ${endpoint}: ${err.message}\nIs an AWS-compatible endpoint up there? Run \`npm run env:up\` (MiniStack) or set AWS_ENDPOINT_URL.`);
    process.exit(1);
  });
  console.log(`deployed to ${endpoint}: bus ${applied.busName}`);
  for (const [tier, t] of Object.entries(applied.tiers)) {
    const q = t && applied.queues[t.queue];
    console.log(`  ${tier}: rule ${t ? applied.ruleNames[t.rule] : '?'} -> ${q?.name} (DLQ ${t?.dlq ? applied.queues[t.dlq]?.name : '-'}, target DLQ ${t?.targetDlq ? applied.queues[t.targetDlq]?.name : '-'})`);
  }
  for (const m of plan.mappings) {
    const fn = plan.functions.find((f) => f.logicalId === m.function);
    console.log(`  mapping ${fn?.worker ?? m.function} <- ${applied.queues[m.queue]?.name}: batch ${m.batchSize}, window ${m.maxBatchingWindowSeconds}s, max concurrency ${m.maxConcurrency ?? '-'}, partial failures ${m.reportBatchItemFailures}`);
  }
}

void main();
