/**
 * The thin Lambda wrapper every worker shares: a middy handler with Powertools' middlewares, as
 * Powertools' docs use them:
 * - `injectLambdaContext`: request id and cold start in every log line;
 * - `logMetrics`: the invocation's metrics published as one EMF line per batch, also when it throws.
 * The worker's clients are built once per container on first use (importing connects to nothing), and
 * the SQS batch goes to processEnvelopeBatch: claim checks loaded, envelopes validated, poison records
 * sent to their queue's DLQ with the reason at once, partial batch failures reported
 * (ReportBatchItemFailures).
 * https://docs.powertools.aws.dev/lambda/typescript/latest/core/logger/#capturing-lambda-context-info
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/metrics/#middy-middleware
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Pool } from 'pg';
import type { InlineEnvelope } from '../../lib/contract';
import { awsClientConfig } from './aws';
import { processEnvelopeBatch } from './batch';
import type { ClaimCheckLoader } from './claim-check';
import { RedrivePolicyDeadLetter } from './dead-letter';
import { coreLogger, logger } from './logger';
import { metrics } from './metrics';
import { forgetProcessed } from './replay';
import { installRestTrace } from './rest-trace';

/** poison records to their queue's DLQ, built on first use (importing connects to nothing) */
let deadLetter: RedrivePolicyDeadLetter | undefined;
const poisonDeadLetter = () => (deadLetter ??= new RedrivePolicyDeadLetter(new SQSClient(awsClientConfig())));

const discordOrigin = () => new URL(process.env.DISCORD_API_URL ?? 'https://discord.com/api').origin;

export interface WorkerDepsBase {
  /** loads claim-checked payloads (CLAIM_CHECK_BUCKET); absent: a claim-checked envelope fails as poison */
  loadClaimCheck?: ClaimCheckLoader;
  /** the worker's database: a `--reprocess` replay deletes the event's idempotency record through it */
  pool?: Pool;
}

export function sqsWorker<D extends WorkerDepsBase>(deps: () => Promise<D>, handleOne: (envelope: InlineEnvelope, deps: D, record: SQSRecord) => Promise<unknown>) {
  // the REST reply hop of the audit trail: Discord requests only (not the score service, S3 or SQS)
  installRestTrace(coreLogger, (origin) => origin === discordOrigin());
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (event, context) => {
      const d = await deps();
      const pool = d.pool;
      return processEnvelopeBatch(event, context, (envelope, record) => handleOne(envelope, d, record), coreLogger, {
        loadClaimCheck: d.loadClaimCheck,
        deadLetter: poisonDeadLetter(),
        ...(pool ? { forget: (env) => forgetProcessed(pool, env) } : {}),
      });
    });
}
