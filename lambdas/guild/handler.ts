/**
 * Guild worker: SQS batch from the guilds tier -> handleGuildEvent for each record (claim-checked
 * GUILD_CREATEs loaded from S3 first), partial batch failures reported to SQS (ReportBatchItemFailures).
 * https://discord.com/developers/docs/events/gateway-events#guild-create
 */
import { countOutcome } from '../shared/metrics';
import { sqsWorker } from '../shared/worker';
import { handleGuildEvent } from './core';
import { guildDeps } from './deps';

export const handler = sqsWorker(guildDeps, (envelope, deps) => handleGuildEvent(envelope, { ...deps, onOutcome: (o) => countOutcome('Guild', o) }));
