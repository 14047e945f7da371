/**
 * Interaction worker: SQS batch from the interactions tier -> handleInteraction for each record,
 * partial batch failures reported to SQS (ReportBatchItemFailures).
 * https://discord.com/developers/docs/interactions/receiving-and-responding
 */
import { errorMessage } from '../../lib/contract';
import { coreLogger } from '../shared/logger';
import { countOutcome } from '../shared/metrics';
import { sqsWorker } from '../shared/worker';
import { handleInteraction } from './core';
import { interactionDeps } from './deps';

export const handler = sqsWorker(interactionDeps, (envelope, deps) =>
  handleInteraction(envelope, {
    ...deps,
    onOutcome: (o, _e, x) => countOutcome('Interaction', o, x?.ageMs),
    onDegraded: (err) => coreLogger.warn('redis unavailable: answering without dedupe and cooldowns', { envelopeId: envelope.id, error: errorMessage(err) }),
  }),
);
