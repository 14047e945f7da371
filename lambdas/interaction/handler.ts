/**
 * Interaction worker: SQS batch of envelopes from the interactions tier -> handleInteraction for each record,
 * partial batch failures reported to SQS (ReportBatchItemFailures).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processEnvelopeBatch } from '../shared/batch';
import { coreLogger } from '../shared/logger';
import { countOutcome, flushMetrics } from '../shared/metrics';
import { handleInteraction } from './core';
import { interactionDeps } from './deps';

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const deps = await interactionDeps();
  try {
    return await processEnvelopeBatch(event, context, async (envelope) => { await handleInteraction(envelope, { ...deps, onOutcome: (o, _e, x) => countOutcome('Interaction', o, x?.ageMs) }); }, coreLogger);
  } finally {
    flushMetrics();
  }
};
