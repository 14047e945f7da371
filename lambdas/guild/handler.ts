/**
 * Guild worker: SQS batch of envelopes from the guilds tier -> handleGuildEvent for each record,
 * partial batch failures reported to SQS (ReportBatchItemFailures).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { processEnvelopeBatch } from '../shared/batch';
import { coreLogger } from '../shared/logger';
import { handleGuildEvent } from './core';
import { guildDeps } from './deps';

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const deps = await guildDeps();
  return processEnvelopeBatch(event, context, async (envelope) => { await handleGuildEvent(envelope, deps); }, coreLogger);
};
