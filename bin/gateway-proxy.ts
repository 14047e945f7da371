#!/usr/bin/env node
/**
 * The CDK app: reads context and environment once, validates them (lib/config/app-config.ts), and
 * builds the stacks with typed props. A bad value stops synth with a message naming the setting.
 *
 *   npx cdk synth                      # DiscordGateway-<env>-Stateful and -Gateway, cdk-nag checked
 *   npx cdk synth -c stage=local       # adds DiscordGateway-<env>-Local (bus, queues, rules, workers only)
 */
import { App } from 'aws-cdk-lib';
import { AppConfigError, loadAppConfig } from '../lib/config/app-config';
import { buildApp } from '../lib/stacks/build-app';

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
const stage: unknown = app.node.tryGetContext('stage') ?? process.env.STAGE;
buildApp(app, config, { local: stage === 'local', nag: app.node.tryGetContext('nag') !== 'false' });
app.synth();
