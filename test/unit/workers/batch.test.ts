import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { wrapDispatch, type Envelope } from '../../../lib/contract';
import { envelopeOf, PoisonRecordError, processEnvelopeBatch } from '../../../lambdas/shared/batch';
import type { PoisonDeadLetter } from '../../../lambdas/shared/dead-letter';
import { ContractError } from '../../../lib/contract';

const envelope = (seq: number): Envelope => wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: 's', seq, type: 'GUILD_MEMBER_ADD', receivedAt: 1_800_000_000_000 + seq, data: { guild_id: '200000000000000001', user: { id: `30000000000000000${seq}` } } });

/** The body SQS hands the worker: the EventBridge event whose detail is our envelope. */
const busEvent = (e: Envelope) => JSON.stringify({ version: '0', id: `eb-${e.seq}`, 'detail-type': e.type, source: 'discord.gateway', account: '1', time: new Date(e.receivedAt).toISOString(), region: 'us-east-1', resources: [], detail: e });

const record = (messageId: string, body: string): SQSRecord => ({
  messageId,
  body,
  receiptHandle: messageId,
  attributes: { ApproximateReceiveCount: '2', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:1:q',
  awsRegion: 'us-east-1',
});

function logSink() {
  const errors: Array<Record<string, unknown>> = [];
  return { errors, logger: { info: () => undefined, warn: () => undefined, error: (_m: string, x?: Record<string, unknown>) => void errors.push(x ?? {}) } };
}

describe('batch handling', () => {
  it('reports only the poison record in batchItemFailures, and the others succeed', async () => {
    const handled: string[] = [];
    const event: SQSEvent = { Records: [record('m1', busEvent(envelope(1))), record('poison', '{"detail": {"v": 1, "id": "nope"}}'), record('m3', busEvent(envelope(3)))] };
    const { errors, logger } = logSink();
    const res = await processEnvelopeBatch(
      event,
      {} as Context,
      (e) => {
        handled.push(e.id);
        return Promise.resolve();
      },
      logger,
    );
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'poison' }] });
    expect(handled.sort()).toEqual([envelope(1).id, envelope(3).id].sort());
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ messageId: 'poison', poison: true, receiveCount: '2' });
    expect(String(errors[0]!.reason)).not.toBe('');
  });

  it('treats a body that is not JSON as poison', async () => {
    const { errors, logger } = logSink();
    const res = await processEnvelopeBatch({ Records: [record('junk', 'not json at all')] }, {} as Context, () => Promise.resolve(), logger);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'junk' }]);
    expect(errors[0]).toMatchObject({ messageId: 'junk', poison: true });
    expect(() => envelopeOf(record('junk', 'not json'))).toThrow(PoisonRecordError);
  });

  it('fails a record whose handler throws, logging its envelope id, without failing the batch', async () => {
    const bad = envelope(2);
    const { errors, logger } = logSink();
    const event: SQSEvent = { Records: [record('ok', busEvent(envelope(1))), record('fails', busEvent(bad))] };
    const res = await processEnvelopeBatch(event, {} as Context, (e) => (e.id === bad.id ? Promise.reject(new Error('database unavailable')) : Promise.resolve()), logger);
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'fails' }]);
    expect(errors).toEqual([expect.objectContaining({ envelopeId: bad.id, messageId: 'fails', reason: 'database unavailable', poison: false })]);
  });

  it('returns every record as failed when all fail, instead of throwing', async () => {
    const { logger } = logSink();
    const res = await processEnvelopeBatch({ Records: [record('a', 'x'), record('b', 'y')] }, {} as Context, () => Promise.resolve(), logger);
    expect(res.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['a', 'b']);
  });

  it('sends a record that can never succeed to its DLQ on first sight, with the reason, and retries one that can', async () => {
    const sent: Array<{ messageId: string; reason: string; envelopeId?: string }> = [];
    const deadLetter: PoisonDeadLetter = {
      send: (r, reason, envelopeId) => {
        sent.push({ messageId: r.messageId, reason, envelopeId });
        return Promise.resolve();
      },
    };
    const payloadBad = envelope(5);
    const { errors, logger } = logSink();
    const event: SQSEvent = { Records: [record('envelope-bad', '{"detail": {"v": 1, "id": "nope"}}'), record('payload-bad', busEvent(payloadBad)), record('transient', busEvent(envelope(6)))] };
    const res = await processEnvelopeBatch(event, {} as Context, (e) => Promise.reject(e.id === payloadBad.id ? new ContractError('INVALID_DATA', 'data.options is not an array') : new Error('database unavailable')), logger, { deadLetter });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'transient' }]); // only the retryable one comes back
    expect(sent.map((x) => x.messageId)).toEqual(['envelope-bad', 'payload-bad']);
    expect(sent[0]!.reason).toMatch(/^INVALID_EVENT: message body is not an EventBridge event/);
    expect(sent[0]!.envelopeId).toBe('nope');
    expect(sent[1]).toEqual({ messageId: 'payload-bad', reason: 'INVALID_DATA: data.options is not an array', envelopeId: payloadBad.id });
    expect(errors.filter((x) => x.poison === true)).toHaveLength(2);
  });

  it('retries a poison record when its DLQ cannot take it (nothing is dropped)', async () => {
    const deadLetter: PoisonDeadLetter = { send: () => Promise.reject(new Error('AccessDenied')) };
    const { errors, logger } = logSink();
    const res = await processEnvelopeBatch({ Records: [record('poison', 'not json')] }, {} as Context, () => Promise.resolve(), logger, { deadLetter });
    expect(res.batchItemFailures).toEqual([{ itemIdentifier: 'poison' }]);
    expect(errors[0]).toMatchObject({ messageId: 'poison', dlqError: 'AccessDenied' });
  });
});
