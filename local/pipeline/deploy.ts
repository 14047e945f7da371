/**
 * Deploys the local stage with the real CDK CLI to the local AWS endpoint, and reads what it created
 * from the stack's Outputs:
 *
 *   npx cdk bootstrap aws://000000000000/us-east-1                     (once: skipped when CDKToolkit exists)
 *   npx cdk deploy DiscordGateway-<env>-Local -c stage=local --exclusively --require-approval never -c ...
 *
 * The CDK CLI follows AWS_ENDPOINT_URL (credentials test/test, region us-east-1). The emulator then
 * runs the worker functions from their SQS event source mappings. Nothing here reads the template.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand, type Stack } from '@aws-sdk/client-cloudformation';
import { CONSUMERS, errorMessage, TIER_NAMES, type ConsumerName, type TierName } from '../../lib/contract';
import { LOCAL_OUTPUTS } from '../../lib/stacks/local-stack';
import { localAwsConfig } from '../aws';

export const LOCAL_ACCOUNT = '000000000000';
const ROOT = join(__dirname, '..', '..');
/** the local stage's cloud assembly, apart from cdk.out so a `cdk synth` elsewhere does not clash */
export const LOCAL_CDK_OUT = join(ROOT, 'cdk.out', 'local-stage');

export const localStackName = (envName = process.env.ENV_NAME ?? 'dev') => `DiscordGateway-${envName}-Local`;

export interface DeployOptions {
  /** CDK context (`-c key=value`): the local settings (LOCAL_CONTEXT_KEYS), tierOverrides, discordPublicKey, ... */
  context: Record<string, string>;
  envName?: string;
  /**
   * Skip `cdk deploy` when the stack is complete and was deployed from the same context and the same
   * sources (lambdas/, lib/, package-lock.json): the tests deploy once and reuse it. @default false
   */
  reuse?: boolean;
  log?: (msg: string) => void;
  /** where the CLI's own output goes @default a line per stack event to log */
  cliOutput?: (line: string) => void;
}

export interface LocalStackOutputs {
  stackName: string;
  status: string;
  busName: string;
  claimCheckBucket: string;
  httpInteractionsUrl?: string;
  tiers: Partial<Record<TierName, { queueUrl: string; dlqUrl: string; targetDlqUrl: string }>>;
  functions: Partial<Record<ConsumerName | 'httpIngress', string>>;
  raw: Record<string, string>;
}

export interface DeployResult {
  outputs: LocalStackOutputs;
  /** 'deployed' when cdk deploy ran, 'reused' when the up-to-date stack was kept */
  action: 'deployed' | 'reused';
  bootstrapped: boolean;
  ms: number;
}

const cfn = () => new CloudFormationClient(localAwsConfig());

async function describe(stackName: string, client = cfn()): Promise<Stack | undefined> {
  try {
    return (await client.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (err) {
    if (/does not exist|not found/i.test(errorMessage(err))) return undefined;
    throw err;
  }
}

/** The deployed stack's outputs; a clear error when it is missing or incomplete. */
export async function readLocalStackOutputs(stackName = localStackName(), client = cfn()): Promise<LocalStackOutputs> {
  const endpoint = localAwsConfig().endpoint;
  const s = await describe(stackName, client).catch((err: unknown) => {
    throw new Error(`could not ask ${endpoint} for stack ${stackName}: ${errorMessage(err)}. Is the emulator up? Run \`npm run env:up\``, { cause: err });
  });
  if (!s) throw new Error(`stack ${stackName} is not deployed on ${endpoint}: run \`npm run deploy:local\` (or \`npm run local\`)`);
  const status = s.StackStatus ?? '';
  if (!/_COMPLETE$/.test(status) || /ROLLBACK|DELETE/.test(status)) {
    throw new Error(`stack ${stackName} on ${endpoint} is ${status || 'without a status'}: run \`npm run deploy:local\` again`);
  }
  const raw: Record<string, string> = {};
  for (const o of s.Outputs ?? []) if (o.OutputKey && o.OutputValue) raw[o.OutputKey] = o.OutputValue;
  const need = (k: string) => {
    const v = raw[k];
    if (!v) throw new Error(`stack ${stackName} has no output ${k}: it was deployed from an older version; run \`npm run deploy:local\``);
    return v;
  };
  const tiers: LocalStackOutputs['tiers'] = {};
  for (const t of TIER_NAMES) {
    if (!raw[LOCAL_OUTPUTS.queueUrl(t)]) continue;
    tiers[t] = { queueUrl: need(LOCAL_OUTPUTS.queueUrl(t)), dlqUrl: need(LOCAL_OUTPUTS.deadLetterQueueUrl(t)), targetDlqUrl: need(LOCAL_OUTPUTS.targetDeadLetterQueueUrl(t)) };
  }
  const functions: LocalStackOutputs['functions'] = {};
  for (const c of [...CONSUMERS, 'httpIngress'] as const) if (raw[LOCAL_OUTPUTS.functionName(c)]) functions[c] = raw[LOCAL_OUTPUTS.functionName(c)];
  return {
    stackName,
    status,
    busName: need(LOCAL_OUTPUTS.eventBusName),
    claimCheckBucket: need(LOCAL_OUTPUTS.claimCheckBucket),
    httpInteractionsUrl: raw[LOCAL_OUTPUTS.httpInteractionsUrl],
    tiers,
    functions,
    raw,
  };
}

/** Hash of what the deployed stack is built from: the context and the sources. */
export function localFingerprint(context: Record<string, string>): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(Object.entries(context).sort()));
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (name === 'node_modules' || name.startsWith('.')) continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(ts|js|json|sql)$/.test(name) && !/\.test\.ts$/.test(name)) h.update(relative(ROOT, p)).update(readFileSync(p));
    }
  };
  for (const d of ['lambdas', 'lib', 'bin']) walk(join(ROOT, d));
  h.update(readFileSync(join(ROOT, 'package-lock.json')));
  return h.digest('hex').slice(0, 16);
}

/** Environment of the CDK CLI: the local endpoint and its fixed credentials. */
function cliEnv(): NodeJS.ProcessEnv {
  const aws = localAwsConfig();
  return {
    ...process.env,
    AWS_ENDPOINT_URL: aws.endpoint,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    AWS_REGION: aws.region,
    AWS_DEFAULT_REGION: aws.region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
  };
}

/**
 * Runs the CDK CLI. The app also synthesizes the full stacks, whose VPC looks up the (emulated)
 * account's availability zones and the CLI caches them in cdk.context.json: that file is put back as
 * it was, so a local deploy never changes what a real deployment reads.
 */
async function runCdk(args: string[], onLine: (line: string) => void): Promise<void> {
  const ctxFile = join(ROOT, 'cdk.context.json');
  const before = existsSync(ctxFile) ? readFileSync(ctxFile) : undefined;
  try {
    await runCdkCli(args, onLine);
  } finally {
    if (before) writeFileSync(ctxFile, before);
    else rmSync(ctxFile, { force: true });
  }
}

function runCdkCli(args: string[], onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['cdk', ...args], { cwd: ROOT, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const feed = (buf: Buffer) => {
      for (const line of String(buf).split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 40) tail.shift();
        onLine(line);
      }
    };
    child.stdout.on('data', feed);
    child.stderr.on('data', feed);
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npx cdk ${args.slice(0, 2).join(' ')} failed (exit ${code}); its last lines:\n${tail.join('\n')}`))));
  });
}

/** Bootstraps the local account once (idempotent: skipped when the CDKToolkit stack is complete). */
export async function bootstrapLocal(log: (m: string) => void, onLine: (l: string) => void): Promise<boolean> {
  const toolkit = await describe('CDKToolkit');
  if (toolkit && /_COMPLETE$/.test(toolkit.StackStatus ?? '') && !/ROLLBACK|DELETE/.test(toolkit.StackStatus ?? '')) return false;
  log(`cdk bootstrap aws://${LOCAL_ACCOUNT}/${localAwsConfig().region} on ${localAwsConfig().endpoint}`);
  await runCdk(['bootstrap', `aws://${LOCAL_ACCOUNT}/${localAwsConfig().region}`, '-o', LOCAL_CDK_OUT, '-c', 'stage=local', '-c', 'nag=false'], onLine);
  return true;
}

/** `cdk deploy` of the local stage (or reuse of an up-to-date one), then its outputs. */
export async function deployLocalStack(opts: DeployOptions): Promise<DeployResult> {
  const t0 = Date.now();
  const log = opts.log ?? (() => undefined);
  const stackName = localStackName(opts.envName);
  const endpoint = localAwsConfig().endpoint;
  const fingerprint = localFingerprint(opts.context);
  if (opts.reuse) {
    const s = await describe(stackName).catch(() => undefined);
    const deployedFrom = s?.Outputs?.find((o) => o.OutputKey === 'LocalFingerprint')?.OutputValue;
    if (s && deployedFrom === fingerprint && /^(CREATE|UPDATE)_COMPLETE$/.test(s.StackStatus ?? '')) {
      log(`stack ${stackName} on ${endpoint} is up to date (${s.StackStatus}, fingerprint ${fingerprint}): reused`);
      return { outputs: await readLocalStackOutputs(stackName), action: 'reused', bootstrapped: false, ms: Date.now() - t0 };
    }
  }
  const onLine = opts.cliOutput ?? ((line: string) => (/_FAILED|✅|❌|failed|Error|no changes|✨ {2}(Synthesis|Deployment|Total) time/.test(line) ? log(`  cdk: ${line.trim()}`) : undefined));
  const bootstrapped = await bootstrapLocal(log, onLine).catch((err: unknown) => {
    throw new Error(`${errorMessage(err)}\nIs the AWS endpoint up at ${endpoint}? Run \`npm run env:up\`.`, { cause: err });
  });
  const ctx = { ...opts.context, localFingerprint: fingerprint, ...(opts.envName ? { envName: opts.envName } : {}) };
  // cdk-nag checks every synth of the app in the cdk tests and `cdk synth`; a local deploy skips it (seconds on 2 cores)
  const args = ['deploy', stackName, '--exclusively', '--require-approval', 'never', '--progress', 'events', '-o', LOCAL_CDK_OUT, '-c', 'stage=local', '-c', 'nag=false'];
  for (const [k, v] of Object.entries(ctx)) args.push('-c', `${k}=${v}`);
  log(`cdk deploy ${stackName} to ${endpoint}`);
  await runCdk(args, onLine);
  const outputs = await readLocalStackOutputs(stackName);
  return { outputs, action: 'deployed', bootstrapped, ms: Date.now() - t0 };
}
