/**
 * Member worker: SQS batch from the members tier -> handleMemberEvent for each record,
 * partial batch failures reported to SQS (ReportBatchItemFailures).
 * https://discord.com/developers/docs/events/gateway-events#guild-member-add
 */
import { countOutcome } from '../shared/metrics';
import { sqsWorker } from '../shared/worker';
import { handleMemberEvent } from './core';
import { memberDeps } from './deps';

export const handler = sqsWorker(memberDeps, (envelope, deps) => handleMemberEvent(envelope, { ...deps, onOutcome: (o) => countOutcome('Member', o) }));
