import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { wrapDispatch, type Envelope } from '../../../lib/contract';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { awsDatabaseCa } from '../../../lambdas/shared/aws';
import { inlineEnvelope, s3ClaimCheckLoader } from '../../../lambdas/shared/claim-check';
import { redisOptions, secretValue } from '../../../lambdas/shared/redis';
import { logger } from '../../../lambdas/shared/logger';
import { sqsWorker } from '../../../lambdas/shared/worker';

const inline = wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: 's', seq: 7, type: 'GUILD_CREATE', receivedAt: 1_800_000_000_000, data: { id: '200000000000000001', name: 'big' } });
const { data: _d, ...rest } = inline;
const claimChecked: Envelope = { ...rest, dataRef: { bucket: 'claims', key: 'claim-check/GUILD_CREATE/x.json', bytes: 300_000 } };

const fakeS3 = (objects: Record<string, string>) => ({
  calls: [] as string[],
  send(cmd: { input: { Bucket?: string; Key?: string } }) {
    this.calls.push(`${cmd.input.Bucket}/${cmd.input.Key}`);
    const text = objects[`${cmd.input.Bucket}/${cmd.input.Key}`];
    if (text === undefined) return Promise.reject(Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' }));
    return Promise.resolve({ Body: { transformToString: () => Promise.resolve(text) } });
  },
});

const record = (messageId: string, e: Envelope): SQSRecord => ({
  messageId,
  body: JSON.stringify({ version: '0', id: 'x', 'detail-type': e.type, source: 'discord.gateway', account: '1', time: new Date(e.receivedAt).toISOString(), region: 'us-east-1', resources: [], detail: e }),
  receiptHandle: messageId,
  attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:1:q',
  awsRegion: 'us-east-1',
});

describe('claim checks', () => {
  it('loads a claim-checked payload from the configured bucket, so the core sees it inline', async () => {
    const s3 = fakeS3({ 'claims/claim-check/GUILD_CREATE/x.json': JSON.stringify({ id: '200000000000000001', name: 'big' }) });
    const e = await inlineEnvelope(claimChecked, s3ClaimCheckLoader(s3 as never, 'claims'));
    expect(e.data).toEqual({ id: '200000000000000001', name: 'big' });
    expect(e.dataRef).toBeUndefined();
    expect(e.id).toBe(inline.id);
  });

  it('refuses a dataRef naming another bucket, without reading it', async () => {
    const s3 = fakeS3({});
    const other: Envelope = { ...rest, dataRef: { bucket: 'someone-elses', key: 'k', bytes: 1 } };
    await expect(inlineEnvelope(other, s3ClaimCheckLoader(s3 as never, 'claims'))).rejects.toThrow(/not CLAIM_CHECK_BUCKET=claims/);
    expect(s3.calls).toEqual([]);
  });

  it('names CLAIM_CHECK_BUCKET when a claim-checked envelope reaches a worker without it', async () => {
    await expect(inlineEnvelope(claimChecked, undefined)).rejects.toThrow(/CLAIM_CHECK_BUCKET is not set/);
  });
});

describe('Redis connection settings', () => {
  it('uses TLS for rediss:// and reads the AUTH token from Secrets Manager once per call', async () => {
    const asked: unknown[] = [];
    const sm = {
      send: (c: { input: unknown }) => {
        asked.push(c.input);
        return Promise.resolve({ SecretString: 'tok-123' });
      },
    };
    const o = await redisOptions({ REDIS_URL: 'rediss://cache:6379', REDIS_AUTH_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:redis' }, sm);
    expect(o.tls).toEqual({});
    expect(o.password).toBe('tok-123');
    expect(asked).toEqual([{ SecretId: 'arn:aws:secretsmanager:us-east-1:1:secret:redis' }]);
    const local = await redisOptions({ REDIS_URL: 'redis://127.0.0.1:6379' });
    expect(local.tls).toBeUndefined();
    expect(local.password).toBeUndefined();
  });

  it('accepts a plain or JSON secret and names the variable when it is empty', () => {
    expect(secretValue(' abc ', 'X')).toBe('abc');
    expect(secretValue('{"token":"t"}', 'X')).toBe('t');
    expect(secretValue('{"password":"p"}', 'X')).toBe('p');
    expect(() => secretValue('', 'REDIS_AUTH_SECRET_ARN')).toThrow(/REDIS_AUTH_SECRET_ARN is empty/);
  });
});

describe('the middy worker wrapper', () => {
  it('hands cores inline envelopes and reports only the record whose claim check is missing', async () => {
    const s3 = fakeS3({ 'claims/claim-check/GUILD_CREATE/x.json': JSON.stringify({ id: '200000000000000001', name: 'big' }) });
    const { data: _x, ...other } = wrapDispatch({ appId: '100000000000000001', shardId: 0, sessionId: 's', seq: 8, type: 'GUILD_CREATE', receivedAt: 1_800_000_000_001, data: {} });
    const missing: Envelope = { ...other, dataRef: { bucket: 'claims', key: 'gone.json', bytes: 1 } };
    const errors: unknown[] = [];
    const spy = vi.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => void errors.push(args[1]));
    const seen: Array<Record<string, unknown>> = [];
    let built = 0;
    const handler = sqsWorker(
      () => {
        built++;
        return Promise.resolve({ loadClaimCheck: s3ClaimCheckLoader(s3 as never, 'claims') });
      },
      (e) => {
        seen.push(e.data);
        return Promise.resolve();
      },
    );
    const event: SQSEvent = { Records: [record('a', claimChecked), record('b', missing), record('c', inline)] };
    const res = await handler(event, { functionName: 'f', awsRequestId: 'r' } as Context);
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: 'b' }] });
    expect(seen).toEqual([
      { id: '200000000000000001', name: 'big' },
      { id: '200000000000000001', name: 'big' },
    ]);
    expect(built).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ messageId: 'b', envelopeId: other.id, reason: 'NoSuchKey', poison: false })]);
    spy.mockRestore();
  });
});

describe('database TLS in Lambda', () => {
  it("trusts Node's roots plus the runtime's Amazon bundle when it exists (Node.js 20+ runtimes skip it by default)", () => {
    const bundle = join(mkdtempSync(join(tmpdir(), 'ca-')), 'ca-cert.pem');
    writeFileSync(bundle, '-----BEGIN CERTIFICATE-----\nrds\n-----END CERTIFICATE-----\n');
    const ca = awsDatabaseCa(bundle)!;
    expect(ca).toHaveLength(rootCertificates.length + 1);
    expect(ca.at(-1)).toContain('rds');
    expect(awsDatabaseCa(join(tmpdir(), 'no-such-bundle.pem'))).toBeUndefined();
  });
});
