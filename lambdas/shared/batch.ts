/**
 * SQS batch handling shared by the workers: each record's body is the EventBridge event whose
 * `detail` is our envelope. Records are processed with Powertools' BatchProcessor so one bad record
 * never fails its batch (partial batch responses, ReportBatchItemFailures):
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/batch/
 *
 * A record that can never succeed (its envelope or payload breaks the contract: a ContractError or
 * PoisonRecordError) goes to the queue's DLQ on first sight with its reason (`deadLetter`), and
 * counts as handled; any other failure is reported failed and retried, reaching the DLQ after the
 * queue's maxReceiveCount. Poison input is never silently dropped, and never retried in vain.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorMessage, isContractError, parseDeliveredEvent, type Envelope, type InlineEnvelope } from '../../lib/contract';
import { inlineEnvelope, type ClaimCheckLoader } from './claim-check';
import type { PoisonDeadLetter } from './dead-letter';
import { withCorrelation } from './logger';
import { replayOf } from './replay';

export interface BatchLogger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export class PoisonRecordError extends Error {
  constructor(
    readonly reason: string,
    readonly messageId: string,
    /** the `detail.id` the body claims, when it has one (for log correlation; it failed validation) */
    readonly claimedId?: string,
  ) {
    super(`poison record ${messageId}: ${reason}`);
    this.name = 'PoisonRecordError';
  }
}

/** EventBridge's `time` of the event (second resolution), for the trail. */
function busTimeOf(body: string): string | undefined {
  try {
    const t = (JSON.parse(body) as { time?: unknown }).time;
    return typeof t === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

function claimedIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { detail?: { id?: unknown } }).detail?.id;
    return typeof id === 'string' ? id.slice(0, 100) : undefined;
  } catch {
    return undefined;
  }
}

/** Parses one SQS record into our envelope, or throws PoisonRecordError with the reason. */
export function envelopeOf(record: SQSRecord): Envelope {
  try {
    return parseDeliveredEvent(record.body).envelope;
  } catch (err) {
    const reason = isContractError(err) ? `${err.code}: ${err.message}` : `unparseable body: ${(err as Error).message}`;
    throw new PoisonRecordError(reason, record.messageId, claimedIdOf(record.body));
  }
}

/**
 * Runs `handleOne` for every record (concurrently, like Powertools' async processor) and returns the
 * partial batch response. A claim-checked envelope is loaded inline first (`loadClaimCheck`). Failures
 * are logged with the envelope id (or the message id when the envelope could not be read) and the
 * reason; contract errors (bad envelope, bad payload) are marked `poison`.
 *
 * The audit trail (PRD 5.3): every record logs `hop: "worker.start"` with the times of the hops before
 * it (the ingestor's receive time from the envelope, EventBridge's event time, SQS's SentTimestamp) and
 * `hop: "worker.finish"` with the handler's outcome and duration; failures `hop: "worker.failed"` or
 * `"dlq"`. Every line written through coreLogger while the record runs carries its envelope id
 * (withCorrelation). `npm run trace -- <envelope id>` reads them back.
 *
 * Replays (`replay-name`, lambdas/shared/replay.ts): a `--reprocess` replay calls `forget` first (the
 * event's idempotency record is deleted), so the handler applies it again; any other replay goes
 * through the handler's dedupe like a redelivery.
 */
export async function processEnvelopeBatch(
  event: SQSEvent,
  context: Context,
  handleOne: (envelope: InlineEnvelope, record: SQSRecord) => Promise<unknown>,
  logger: BatchLogger,
  opts: { loadClaimCheck?: ClaimCheckLoader; deadLetter?: PoisonDeadLetter; forget?: (envelope: Envelope) => Promise<unknown> } = {},
): Promise<SQSBatchResponse> {
  const processor = new BatchProcessor(EventType.SQS);
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      let envelope: Envelope | undefined;
      const replay = replayOf(record.body);
      try {
        envelope = envelopeOf(record);
        const env = envelope;
        await withCorrelation({ envelopeId: env.id, type: env.type, ...(replay ? { replayName: replay.name } : {}) }, async () => {
          const started = Date.now();
          logger.info('worker start', {
            hop: 'worker.start',
            envelopeId: env.id,
            type: env.type,
            shardId: env.shardId,
            messageId: record.messageId,
            receiveCount: record.attributes.ApproximateReceiveCount,
            receivedAt: env.receivedAt,
            busTime: busTimeOf(record.body),
            queuedAt: Number(record.attributes.SentTimestamp) || undefined,
            ...(replay ? { replayName: replay.name, reprocess: replay.reprocess } : {}),
          });
          if (replay?.types && !replay.types.has(env.type)) {
            // a replay for other types (its tier's rule carries this one too)
            logger.info('worker finish', { hop: 'worker.finish', envelopeId: env.id, type: env.type, outcome: 'replay-skipped', durationMs: 0 });
            return;
          }
          if (replay?.reprocess && opts.forget) await opts.forget(env);
          const outcome = await handleOne(await inlineEnvelope(env, opts.loadClaimCheck), record);
          logger.info('worker finish', { hop: 'worker.finish', envelopeId: env.id, type: env.type, outcome: typeof outcome === 'string' ? outcome : 'done', durationMs: Date.now() - started });
        });
      } catch (err) {
        const poison = err instanceof PoisonRecordError || isContractError(err);
        const envelopeId = envelope?.id ?? (err instanceof PoisonRecordError ? err.claimedId : undefined);
        const reason = err instanceof PoisonRecordError ? err.reason : isContractError(err) ? `${err.code}: ${err.message}` : errorMessage(err);
        const fields = { envelopeId, type: envelope?.type, messageId: record.messageId, receiveCount: record.attributes.ApproximateReceiveCount, reason, poison, ...(replay ? { replayName: replay.name } : {}) };
        if (poison && opts.deadLetter) {
          try {
            await opts.deadLetter.send(record, reason, envelopeId);
            logger.error('poison record sent to the dead-letter queue on first sight', { hop: 'dlq', ...fields });
            return;
          } catch (dlqErr) {
            logger.error('could not send a poison record to its dead-letter queue: it is retried', { ...fields, dlqError: errorMessage(dlqErr) });
            throw err;
          }
        }
        logger.error('record failed', { hop: 'worker.failed', ...fields });
        throw err;
      }
    },
    processor,
    { context, throwOnFullBatchFailure: false },
  );
}
