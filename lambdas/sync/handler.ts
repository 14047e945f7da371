/**
 * Sync worker: SQS batch from the sync tier -> handleMembersChunk for each record (claim-checked chunks
 * loaded from S3 first), partial batch failures reported to SQS (ReportBatchItemFailures).
 * https://discord.com/developers/docs/events/gateway-events#guild-members-chunk
 */
import { countOutcome } from '../shared/metrics';
import { sqsWorker } from '../shared/worker';
import { handleMembersChunk } from './core';
import { syncDeps } from './deps';

export const handler = sqsWorker(syncDeps, (envelope, deps) => handleMembersChunk(envelope, { ...deps, onOutcome: (o) => countOutcome('Chunk', o) }));
