/**
 * Member worker: SQS batch from the members tier -> handleMemberEvent for each record,
 * partial batch failures reported to SQS (ReportBatchItemFailures).
 * https://discord.com/developers/docs/events/gateway-events#guild-member-add
 */
import { countOutcome } from '../shared/metrics';
import { sqsWorker } from '../shared/worker';
import { handleMemberEvent } from './core';
import { memberDeps } from './deps';

// the auto role is given with the token of the application the event came from
export const handler = sqsWorker(memberDeps, (envelope, { botRests, ...deps }) => handleMemberEvent(envelope, { ...deps, botRest: botRests?.forApplication(envelope.appId), onOutcome: (o) => countOutcome('Member', o) }));
