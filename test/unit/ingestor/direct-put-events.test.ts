import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectPutEventsSender, PutEventsRequestError } from '../../../ingestor/src/publish/direct-put-events';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const entries = [
  { Source: 'discord.gateway', DetailType: 'GUILD_MEMBER_ADD', Detail: JSON.stringify({ n: 'é"\\\n' }), EventBusName: 'bus' },
  { Source: 'discord.gateway', DetailType: 'INTERACTION_CREATE', Detail: '{"x":1}', EventBusName: 'bus' },
];

let server: Server | undefined;
const senders: DirectPutEventsSender[] = [];
afterEach(async () => {
  for (const s of senders.splice(0)) await s.destroy();
  server?.close();
});
const track = (s: DirectPutEventsSender) => (senders.push(s), s);

async function endpoint(answer: (req: IncomingMessage, body: string) => { status: number; body: string; headers?: Record<string, string> }) {
  const seen: Array<{ req: IncomingMessage; body: string }> = [];
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ req, body });
      const a = answer(req, body);
      res.writeHead(a.status, { 'content-type': 'application/x-amz-json-1.1', ...a.headers }).end(a.body);
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, sender: track(new DirectPutEventsSender(new EventBridgeClient({ endpoint: url, region: 'eu-west-1', credentials }))) };
}

describe('DirectPutEventsSender', () => {
  it('sends the awsJson1_1 PutEvents request, SigV4-signed over exactly the bytes on the wire, and maps per-entry results in order', async () => {
    const { seen, sender } = await endpoint(() => ({ status: 200, body: JSON.stringify({ FailedEntryCount: 1, Entries: [{ EventId: 'a' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] }) }));
    expect(await sender.put(entries)).toEqual({ errors: [undefined, { code: 'ThrottlingException', message: 'slow down' }] });
    const { req, body } = seen[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(req.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(JSON.parse(body)).toEqual({ Entries: entries });
    const auth = req.headers.authorization!;
    expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/events\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*x-amz-target[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);

    // verify as a server would: sign the received request again at its own x-amz-date
    const amzDate = req.headers['x-amz-date'] as string;
    const date = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
    const signed = auth.match(/SignedHeaders=([^,]+)/)![1]!.split(';');
    const headers = Object.fromEntries(signed.filter((h) => h !== 'x-amz-date').map((h) => [h, String(req.headers[h])]));
    // exactly the headers the request lists as signed (no x-amz-content-sha256 of its own: EventBridge does not need it)
    const verifier = new SignatureV4({ service: 'events', region: 'eu-west-1', credentials, sha256: Sha256, uriEscapePath: true, applyChecksum: false });
    const again = await verifier.sign(new HttpRequest({ method: 'POST', protocol: 'http:', hostname: '127.0.0.1', path: req.url, headers, body }), { signingDate: date });
    expect(again.headers.authorization).toBe(auth);
  });

  it('throws a whole-request refusal with the service error name, and a non-JSON error body as it came', async () => {
    let n = 0;
    const { sender } = await endpoint(() => (n++ === 0 ? { status: 400, body: JSON.stringify({ __type: 'com.amazonaws.eventbridge#ValidationException', message: 'Entries too large' }) } : { status: 502, body: '<html>bad gateway</html>' }));
    const err = await sender.put(entries).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PutEventsRequestError);
    expect(err).toMatchObject({ name: 'ValidationException', statusCode: 400, message: 'PutEvents answered 400: ValidationException: Entries too large' });
    await expect(sender.put(entries)).rejects.toMatchObject({ name: 'Http502', statusCode: 502, message: 'PutEvents answered 502: Http502: <html>bad gateway</html>' });
  });

  it('sends the session token of temporary credentials (what a Fargate task role gives), signed', async () => {
    const { url, seen } = await endpoint(() => ({ status: 200, body: JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }, { EventId: 'b' }] }) }));
    const sender = track(new DirectPutEventsSender(new EventBridgeClient({ endpoint: url, region: 'eu-west-1', credentials: { ...credentials, sessionToken: 'session-token-from-the-task-role' } })));
    await sender.put(entries);
    const { req } = seen[0]!;
    expect(req.headers['x-amz-security-token']).toBe('session-token-from-the-task-role');
    expect(req.headers.authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
  });

  it('corrects a skewed clock from the Date header of a refused request, like the SDK (a signature is valid within 5 minutes of AWS time)', async () => {
    const awsNow = () => Date.now() + 3_600_000; // the service's clock is an hour ahead of ours
    const parse = (d: string) => Date.parse(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 11)}:${d.slice(11, 13)}:${d.slice(13, 15)}Z`);
    const { seen, sender } = await endpoint((req) => {
      const skew = Math.abs(parse(String(req.headers['x-amz-date'])) - awsNow());
      const date = new Date(awsNow()).toUTCString();
      return skew >= 5 * 60_000
        ? { status: 400, headers: { date }, body: JSON.stringify({ __type: 'InvalidSignatureException', message: 'Signature expired' }) }
        : { status: 200, headers: { date }, body: JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }, { EventId: 'b' }] }) };
    });
    await expect(sender.put(entries)).rejects.toMatchObject({ name: 'InvalidSignatureException' });
    expect(Math.abs(sender.clockOffsetMs - 3_600_000)).toBeLessThan(5_000);
    // the publisher's retry: signed with AWS's clock now, accepted
    expect(await sender.put(entries)).toEqual({ errors: [undefined, undefined] });
    expect(Math.abs(parse(String(seen[1]!.req.headers['x-amz-date'])) - awsNow())).toBeLessThan(5_000);
  });

  it('marks an entry the endpoint gave no result for as InternalFailure (retried by the publisher)', async () => {
    const { sender } = await endpoint(() => ({ status: 200, body: JSON.stringify({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }] }) }));
    expect(await sender.put(entries)).toEqual({ errors: [undefined, { code: 'InternalFailure', message: 'no result for this entry' }] });
  });

  it('fails the request (retryable) when the endpoint does not answer in time, instead of holding an in-flight slot forever', async () => {
    const { url } = await endpoint(() => ({ status: 200, body: '{}' }));
    server!.removeAllListeners('request');
    server!.on('request', () => undefined); // never answers
    const sender = track(new DirectPutEventsSender(new EventBridgeClient({ endpoint: url, region: 'eu-west-1', credentials }), { requestTimeoutMs: 300 }));
    await expect(sender.put(entries)).rejects.toThrow(/abort|timeout/i);
  });
});
