/**
 * Sync worker: SQS batch from the sync tier -> handleSyncEvent for each record (claim-checked chunks
 * loaded from S3 first), partial batch failures reported to SQS (ReportBatchItemFailures). Chunks count
 * `Chunk<Outcome>` metrics, RATE_LIMITED answers `MemberSyncRateLimited` (and `MemberSyncDuplicate`,
 * `MemberSyncIgnored`).
 * https://discord.com/developers/docs/events/gateway-events#guild-members-chunk
 * https://discord.com/developers/docs/events/gateway-events#rate-limited
 */
import { countOutcome } from '../shared/metrics';
import { sqsWorker } from '../shared/worker';
import { handleSyncEvent } from './core';
import { syncDeps } from './deps';

export const handler = sqsWorker(syncDeps, (envelope, deps) => handleSyncEvent(envelope, { ...deps, onOutcome: (o, e) => countOutcome(e.type === 'RATE_LIMITED' ? 'MemberSync' : 'Chunk', o) }));
