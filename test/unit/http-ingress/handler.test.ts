/** The thin API Gateway wrapper: payload format 2.0 in, a structured result out, same bytes verified. */
import { generateKeyPairSync, sign } from 'node:crypto';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { commandRegistry } from '../../../lambdas/interaction/commands';
import { singleKeyRegistry, type HttpIngressDeps } from '../../../lambdas/http-ingress/core';
import { httpIngressHandler } from '../../../lambdas/http-ingress/handler';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const APP = '100000000000000001';
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const hex = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');

const sent: string[] = [];
const deps: HttpIngressDeps = {
  keys: singleKeyRegistry(APP, hex),
  enqueue: (b) => {
    sent.push(b);
    return Promise.resolve();
  },
  commands: commandRegistry(),
  maxBodyBytes: 4096,
};
const handler = httpIngressHandler(() => Promise.resolve(deps));
const ctx = { invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:http-ingress', awsRequestId: 'r', functionName: 'http-ingress', getRemainingTimeInMillis: () => 3000 } as unknown as Context;

function event(body: Buffer, opts: { base64?: boolean; signWith?: Buffer } = {}): APIGatewayProxyEventV2 {
  const ts = String(Math.floor(Date.now() / 1000));
  const sig = sign(null, Buffer.concat([Buffer.from(ts), opts.signWith ?? body]), privateKey).toString('hex');
  return {
    version: '2.0',
    routeKey: 'POST /interactions',
    rawPath: '/interactions',
    rawQueryString: '',
    headers: { 'x-signature-ed25519': sig, 'x-signature-timestamp': ts, 'content-type': 'application/json' },
    requestContext: { http: { method: 'POST', path: '/interactions', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'x' } },
    body: opts.base64 ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: !!opts.base64,
  } as unknown as APIGatewayProxyEventV2;
}
const call = (e: APIGatewayProxyEventV2) => handler(e, ctx);

describe('http-ingress handler', () => {
  it('verifies the bytes as received, plain or base64-encoded by API Gateway (non-ASCII included)', async () => {
    const body = Buffer.from(JSON.stringify({ type: 1, note: 'héllo ✓' }));
    expect(await call(event(body))).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"type":1}' });
    expect((await call(event(body, { base64: true }))).statusCode).toBe(200);
    // the same text, but not the bytes that were signed
    expect((await call(event(body, { signWith: Buffer.from(JSON.stringify({ type: 1, note: 'hello' })) }))).statusCode).toBe(401);
  });

  it('refuses a body far over the limit with 413 before decoding it, and enqueues with the account from the function ARN', async () => {
    const big = event(Buffer.alloc(10_000, 'a'), { base64: true });
    expect((await call(big)).statusCode).toBe(413);
    const cmd = Buffer.from(JSON.stringify({ type: 2, id: '1300000000000000000', application_id: APP, token: 't', data: { name: 'check-eligibility' } }));
    expect(JSON.parse((await call(event(cmd))).body!)).toEqual({ type: 5 });
    expect((JSON.parse(sent.at(-1)!) as { account?: string }).account).toBe('123456789012');
  });
});
