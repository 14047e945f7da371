/**
 * Voice worker: SQS batch from the voice tier -> handleVoiceEvent for each record, partial batch
 * failures reported to SQS (ReportBatchItemFailures).
 * https://discord.com/developers/docs/events/gateway-events#voice-state-update
 */
import { countOutcome } from '../shared/metrics';
import { sqsWorker } from '../shared/worker';
import { handleVoiceEvent } from './core';
import { voiceDeps } from './deps';

export const handler = sqsWorker(voiceDeps, (envelope, deps) => handleVoiceEvent(envelope, { ...deps, onOutcome: (o) => countOutcome('Voice', o) }));
