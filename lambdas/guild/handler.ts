/**
 * Guild worker: SQS batch of envelopes from the guilds tier -> handleGuildEvent for each record,
 * partial batch failures reported to SQS (ReportBatchItemFailures).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processEnvelopeBatch } from '../shared/batch';
import { coreLogger } from '../shared/logger';
import { countOutcome, flushMetrics } from '../shared/metrics';
import { handleGuildEvent } from './core';
import { guildDeps } from './deps';

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const deps = await guildDeps();
  try {
    return await processEnvelopeBatch(event, context, async (envelope) => { await handleGuildEvent(envelope, { ...deps, onOutcome: (o) => countOutcome('Guild', o) }); }, coreLogger);
  } finally {
    flushMetrics();
  }
};
