/**
 * The audit trail's worker side: every coreLogger line inside a record carries its envelope id, the
 * local log file sink, and the REST reply hop (a real @discordjs/rest request to a loopback server)
 * with the interaction token redacted.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REST } from '@discordjs/rest';
import { afterAll, describe, expect, it } from 'vitest';
import { coreLogger, withCorrelation } from '../../lambdas/shared/logger';
import { installRestTrace, redactedRoute } from '../../lambdas/shared/rest-trace';

const server = createServer((req, res) => {
  if (req.url?.includes('/callback')) return void res.writeHead(204).end();
  res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Unknown","code":10008}');
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('audit trail (worker side)', () => {
  it('redacts interaction and webhook tokens and generalizes ids', () => {
    expect(redactedRoute('post', '/interactions/123456789012345678/aW50ZXJhY3Rpb246c2VjcmV0/callback')).toBe('POST /interactions/:id/:token/callback');
    expect(redactedRoute('patch', '/webhooks/100000000000000001/tok.en-value/messages/@original?wait=true')).toBe('PATCH /webhooks/:id/:token/messages/@original');
    expect(redactedRoute('put', '/guilds/123456789012345678/members/223456789012345678/roles/323456789012345678')).toBe('PUT /guilds/:id/members/:id/roles/:id');
  });

  it('writes every line inside a record with its envelope id to GATEWAY_PROXY_LOG_FILE, and logs the REST reply hop without the token', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'trail-')), 'run.jsonl');
    process.env.GATEWAY_PROXY_LOG_FILE = file;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    installRestTrace(coreLogger, (o) => o === origin);
    const rest = new REST({ api: `${origin}/api`, retries: 0 });
    try {
      await withCorrelation({ envelopeId: 'e'.repeat(32), type: 'INTERACTION_CREATE' }, async () => {
        coreLogger.info('inside the record');
        await rest.post('/interactions/123456789012345678/very-secret-token/callback', { auth: false, body: { type: 4, data: { content: 'hi' } } });
      });
      coreLogger.info('outside any record');
    } finally {
      delete process.env.GATEWAY_PROXY_LOG_FILE;
    }
    const raw = readFileSync(file, 'utf8');
    expect(raw).not.toContain('very-secret-token');
    const lines = raw
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.message === 'inside the record')).toMatchObject({ envelopeId: 'e'.repeat(32), type: 'INTERACTION_CREATE' });
    expect(lines.find((l) => l.message === 'outside any record')?.envelopeId).toBeUndefined();
    const reply = lines.find((l) => l.hop === 'rest.reply');
    expect(reply).toMatchObject({ envelopeId: 'e'.repeat(32), route: 'POST /interactions/:id/:token/callback', status: 204 });
    expect(typeof reply?.durationMs).toBe('number');
  });
});
