/** The HTTP ingress core: signature, timestamp, PING, fast answers, deferral and enqueue. */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDeliveredEvent } from '../../../lib/contract';
import { commandRegistry } from '../../../lambdas/interaction/commands';
import type { Command } from '../../../lambdas/interaction/commands/types';
import { HttpIngressConfigError, parseHttpIngressConfig } from '../../../lambdas/http-ingress/config';
import { handleHttpInteraction, publicKeyFromHex, singleKeyRegistry, type HttpIngressDeps, type HttpIngressOutcome, type HttpRequest } from '../../../lambdas/http-ingress/core';

const APP = '100000000000000001';
const NOW = 1_800_000_000_000;

function keyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const hex = publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex');
  return { hex, privateKey };
}
const ours = keyPair();
const theirs = keyPair();

/** A request signed the way Discord signs it: Ed25519 over timestamp + body, hex. */
function signed(payload: unknown, opts: { key?: KeyObject; ts?: number; tamper?: (b: Buffer) => Buffer; drop?: string } = {}): HttpRequest {
  const body = Buffer.from(JSON.stringify(payload));
  const ts = String(opts.ts ?? Math.floor(NOW / 1000));
  const sig = sign(null, Buffer.concat([Buffer.from(ts), body]), opts.key ?? ours.privateKey).toString('hex');
  const all: Record<string, string> = { 'x-signature-ed25519': sig, 'x-signature-timestamp': ts, 'content-type': 'application/json' };
  const headers = Object.fromEntries(Object.entries(all).filter(([name]) => name !== opts.drop));
  return { method: 'POST', headers, body: opts.tamper ? opts.tamper(body) : body };
}

/** A response body or an enqueued message, with the fields these tests read. */
const json = (text: string) => JSON.parse(text) as { type?: number; message?: unknown; account?: string };

const idAt = (ms: number) => ((BigInt(ms) - 1420070400000n) << 22n).toString();
const command = (name: string) => ({ id: idAt(NOW - 50), application_id: APP, type: 2, token: 'secret-token', guild_id: '200000000000000002', channel_id: '400000000000000004', member: { user: { id: '300000000000000003' } }, data: { id: '1', name, type: 1 } });

const slow: Command = { definition: { name: 'slow', description: 'x' }, mode: 'slow', run: () => Promise.resolve({ content: 'later' }) };
const quick: Command = { definition: { name: 'quick', description: 'x' }, mode: 'fast', selfContained: true, run: (ctx) => Promise.resolve({ content: `hi <@${ctx.userId}>` }) };
const needsDb: Command = { definition: { name: 'needsdb', description: 'x' }, mode: 'fast', run: () => Promise.resolve({ content: 'db' }) };
const liar: Command = { definition: { name: 'liar', description: 'x' }, mode: 'fast', selfContained: true, run: async (ctx) => ({ content: String(await ctx.redis.get('x')) }) };
const private_: Command = { definition: { name: 'private', description: 'x' }, mode: 'slow', ephemeral: true, run: () => Promise.resolve({ content: 'p' }) };

function setup(over: Partial<HttpIngressDeps> = {}) {
  const sent: string[] = [];
  const outcomes: HttpIngressOutcome[] = [];
  const deps: HttpIngressDeps = {
    keys: singleKeyRegistry(APP, ours.hex),
    enqueue: (b) => {
      sent.push(b);
      return Promise.resolve();
    },
    commands: commandRegistry([slow, quick, needsDb, liar, private_]),
    maxBodyBytes: 8192,
    now: () => NOW,
    newId: () => 'evt-1',
    onOutcome: (o) => outcomes.push(o),
    ...over,
  };
  return { deps, sent, outcomes };
}

describe('HTTP ingress: who may talk to it', () => {
  it('answers a validly signed PING with PONG and enqueues nothing', async () => {
    const { deps, sent, outcomes } = setup();
    const r = await handleHttpInteraction(signed({ type: 1, id: '1', application_id: APP }), deps);
    expect(r).toEqual({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"type":1}' });
    expect(sent).toEqual([]);
    expect(outcomes).toEqual(['pong']);
  });

  const rejected: Array<[string, () => HttpRequest, string]> = [
    ['a tampered body', () => signed(command('slow'), { tamper: (b) => Buffer.from(b.toString().replace('slow', 'slox')) }), 'rejected-signature'],
    ['a signature by another key', () => signed(command('slow'), { key: theirs.privateKey }), 'rejected-signature'],
    ['a missing signature header', () => signed(command('slow'), { drop: 'x-signature-ed25519' }), 'rejected-signature'],
    ['a missing timestamp header', () => signed(command('slow'), { drop: 'x-signature-timestamp' }), 'rejected-signature'],
    ['a timestamp 5 minutes and 1 s old (validly signed)', () => signed(command('slow'), { ts: Math.floor(NOW / 1000) - 301 }), 'rejected-timestamp'],
    ['a timestamp 5 minutes and 1 s ahead', () => signed(command('slow'), { ts: Math.floor(NOW / 1000) + 301 }), 'rejected-timestamp'],
    ['a PING signed by another key', () => signed({ type: 1 }, { key: theirs.privateKey }), 'rejected-signature'],
  ];
  for (const [what, req, outcome] of rejected) {
    it(`refuses ${what} with 401 and enqueues nothing`, async () => {
      const { deps, sent, outcomes } = setup();
      const r = await handleHttpInteraction(req(), deps);
      expect(r.status).toBe(401);
      expect(json(r.body).message).toEqual(expect.any(String));
      expect(sent).toEqual([]);
      expect(outcomes).toEqual([outcome]);
    });
  }

  it('refuses malformed signature headers (not hex, wrong length, a non-numeric timestamp) with 401 without verifying', async () => {
    const { deps, sent } = setup();
    const base = signed(command('slow'));
    for (const h of [{ 'x-signature-ed25519': 'zz'.repeat(64) }, { 'x-signature-ed25519': 'ab' }, { 'x-signature-timestamp': '17e8' }, { 'x-signature-timestamp': '' }]) {
      expect((await handleHttpInteraction({ ...base, headers: { ...base.headers, ...h } }, deps)).status).toBe(401);
    }
    expect(sent).toEqual([]);
  });

  it('accepts a timestamp 4 minutes old', async () => {
    const { deps, sent } = setup();
    expect((await handleHttpInteraction(signed(command('slow'), { ts: Math.floor(NOW / 1000) - 240 }), deps)).status).toBe(200);
    expect(sent).toHaveLength(1);
  });

  it('refuses a body over the limit with 413 before looking at the signature, and anything but POST with 405', async () => {
    const { deps, sent, outcomes } = setup({ maxBodyBytes: 100 });
    expect((await handleHttpInteraction(signed({ ...command('slow'), pad: 'x'.repeat(200) }), deps)).status).toBe(413);
    expect((await handleHttpInteraction({ ...signed({ type: 1 }), method: 'GET' }, deps)).status).toBe(405);
    expect(sent).toEqual([]);
    expect(outcomes).toEqual(['rejected-size', 'rejected-method']);
  });

  it('answers 400 (not a crash) to a signed body that is not a JSON object, or an application command without id or token', async () => {
    const { deps, sent } = setup();
    for (const p of ['[1,2]', 'null', '"x"']) {
      const req = signed(JSON.parse(p));
      expect((await handleHttpInteraction(req, deps)).status).toBe(400);
    }
    const bad = signed({ type: 2, application_id: APP, data: { name: 'slow' } });
    expect((await handleHttpInteraction(bad, deps)).status).toBe(400);
    expect((await handleHttpInteraction(signed({ ...command('slow'), application_id: '100000000000000099' }), deps)).status).toBe(400);
    expect((await handleHttpInteraction(signed({ type: 99 }), deps)).status).toBe(400);
    expect(sent).toEqual([]);
  });
});

describe('HTTP ingress: commands', () => {
  it('defers a slow command (type 5) and enqueues the same envelope the gateway path carries, marked ingress http', async () => {
    const { deps, sent, outcomes } = setup();
    const r = await handleHttpInteraction({ ...signed(command('slow')), account: '123456789012' }, deps);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ type: 5 });
    expect(outcomes).toEqual(['deferred']);
    expect(sent).toHaveLength(1);
    const { eventId, envelope } = parseDeliveredEvent(sent[0]!);
    expect(eventId).toBe('evt-1');
    expect(envelope).toMatchObject({ type: 'INTERACTION_CREATE', appId: APP, ingress: 'http', receivedAt: NOW, guildId: '200000000000000002', channelId: '400000000000000004', userId: '300000000000000003' });
    expect(envelope.data).toEqual(command('slow'));
    expect(json(sent[0]!).account).toBe('123456789012');
    // a second POST of the same interaction gets the same envelope id (workers dedupe on the interaction anyway)
    await handleHttpInteraction(signed(command('slow')), deps);
    expect(parseDeliveredEvent(sent[1]!).envelope.id).toBe(envelope.id);
  });

  it('defers an ephemeral command ephemerally', async () => {
    const { deps } = setup();
    expect(JSON.parse((await handleHttpInteraction(signed(command('private')), deps)).body)).toEqual({ type: 5, data: { flags: 64 } });
  });

  it('answers a fast self-contained command itself (type 4) with no queue involved', async () => {
    const { deps, sent, outcomes } = setup();
    const r = await handleHttpInteraction(signed(command('quick')), deps);
    expect(JSON.parse(r.body)).toEqual({ type: 4, data: { content: 'hi <@300000000000000003>' } });
    expect(sent).toEqual([]);
    expect(outcomes).toEqual(['answered']);
  });

  it('defers a fast command that needs the worker (database), and one that wrongly claims to be self-contained', async () => {
    const { deps, sent, outcomes } = setup();
    const errors: string[] = [];
    deps.onError = (what, err) => errors.push(`${what}: ${(err as Error).message}`);
    expect(JSON.parse((await handleHttpInteraction(signed(command('needsdb')), deps)).body)).toEqual({ type: 5 });
    expect(JSON.parse((await handleHttpInteraction(signed(command('liar')), deps)).body)).toEqual({ type: 5 });
    expect(sent).toHaveLength(2);
    expect(outcomes).toEqual(['deferred', 'deferred-fallback']);
    expect(errors[0]).toContain('used ctx.redis');
  });

  it('the real /ping is answered here; the real /stats and /check-eligibility go to the worker', async () => {
    const { deps, sent } = setup({ commands: commandRegistry() });
    expect(JSON.parse((await handleHttpInteraction(signed(command('ping')), deps)).body)).toEqual({ type: 4, data: { content: 'Pong!' } });
    expect(json((await handleHttpInteraction(signed(command('stats')), deps)).body).type).toBe(5);
    expect(json((await handleHttpInteraction(signed(command('check-eligibility')), deps)).body).type).toBe(5);
    expect(sent).toHaveLength(2);
  });

  it('answers an unknown command with an ephemeral error and no enqueue', async () => {
    const { deps, sent } = setup();
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
    expect(JSON.parse((await handleHttpInteraction(signed(command('nope')), deps)).body)).toEqual({ type: 4, data: { content: expect.stringContaining('/nope'), flags: 64 } });
    expect(sent).toEqual([]);
  });

  it('gives the user a readable ephemeral error, not a deferral nobody follows up, when the queue refuses', async () => {
    const logged: string[] = [];
    const { deps, outcomes } = setup({ enqueue: () => Promise.reject(new Error('AWS.SimpleQueueService.NonExistentQueue')), onError: (w) => logged.push(w) });
    const r = await handleHttpInteraction(signed(command('slow')), deps);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- vitest types its asymmetric matchers as any
    expect(JSON.parse(r.body)).toEqual({ type: 4, data: { content: expect.stringContaining('try again'), flags: 64 } });
    expect(outcomes).toEqual(['enqueue-failed']);
    expect(logged.join()).not.toContain('secret-token');
  });

  it('acknowledges components and autocomplete without enqueueing', async () => {
    const { deps, sent } = setup();
    expect(JSON.parse((await handleHttpInteraction(signed({ ...command('x'), type: 3 }), deps)).body)).toEqual({ type: 6 });
    expect(JSON.parse((await handleHttpInteraction(signed({ ...command('x'), type: 4 }), deps)).body)).toEqual({ type: 8, data: { choices: [] } });
    expect(sent).toEqual([]);
  });
});

describe('HTTP ingress configuration and keys', () => {
  it('names the variable and what to set, and rejects a key that is not 32 bytes of hex', () => {
    let err: unknown;
    try {
      parseHttpIngressConfig({ DISCORD_PUBLIC_KEY: 'abc', DISCORD_APPLICATION_ID: APP });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HttpIngressConfigError);
    expect((err as Error).message).toContain('DISCORD_PUBLIC_KEY: expected');
    expect((err as Error).message).toContain('INTERACTION_QUEUE_URL');
    expect(() => publicKeyFromHex('00')).toThrow(/64 hex/);
    const cfg = parseHttpIngressConfig({ DISCORD_PUBLIC_KEY: ours.hex, DISCORD_APPLICATION_ID: APP, INTERACTION_QUEUE_URL: 'http://127.0.0.1:4566/000000000000/q' });
    expect(cfg.MAX_BODY_BYTES).toBe(131_072);
  });

  it('the single-key registry answers for the default and its own application only', () => {
    const reg = singleKeyRegistry(APP, ours.hex);
    expect(reg.keyFor(undefined)?.applicationId).toBe(APP);
    expect(reg.keyFor(APP)?.applicationId).toBe(APP);
    expect(reg.keyFor('100000000000000099')).toBeUndefined();
  });
});
