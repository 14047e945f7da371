/**
 * Member worker: SQS batch of envelopes from the members tier -> handleMemberEvent for each record,
 * partial batch failures reported to SQS (ReportBatchItemFailures).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processEnvelopeBatch } from '../shared/batch';
import { coreLogger } from '../shared/logger';
import { countOutcome, flushMetrics } from '../shared/metrics';
import { handleMemberEvent } from './core';
import { memberDeps } from './deps';

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const deps = await memberDeps();
  try {
    return await processEnvelopeBatch(event, context, async (envelope) => { await handleMemberEvent(envelope, { ...deps, onOutcome: (o) => countOutcome('Member', o) }); }, coreLogger);
  } finally {
    flushMetrics();
  }
};
