import { describe, expect, it } from 'vitest';
import { routeOf } from '../../../lambdas/shared/discord-rest';
import { botToken } from '../../../lambdas/shared/bot-rest';
import { parseWorkerConfig } from '../../../lambdas/shared/config';

describe('bot-token REST buckets', () => {
  it('generalizes ids and keeps the major parameter apart', () => {
    expect(routeOf('put', '/guilds/200000000000000001/members/300000000000000001/roles/400000000000000001')).toEqual({
      route: 'PUT /guilds/:id/members/:id/roles/:id',
      major: '200000000000000001',
    });
    expect(routeOf('POST', '/channels/500000000000000001/messages')).toEqual({ route: 'POST /channels/:id/messages', major: '500000000000000001' });
    expect(routeOf('PUT', '/applications/100000000000000001/commands')).toEqual({ route: 'PUT /applications/:id/commands', major: 'global' });
  });

  it('puts every emoji of a message in one reactions bucket and ignores the query string', () => {
    const a = routeOf('PUT', '/channels/500000000000000001/messages/600000000000000001/reactions/%F0%9F%91%8D/@me');
    const b = routeOf('PUT', '/channels/500000000000000001/messages/600000000000000002/reactions/name:700000000000000001/@me?x=1');
    expect(a).toEqual(b);
  });
});

describe('bot token', () => {
  const base = { REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://u@h/db', DISCORD_APPLICATION_ID: '100000000000000001' };

  it('uses DISCORD_TOKEN locally without asking Secrets Manager', async () => {
    const sm = { send: () => Promise.reject(new Error('must not be called')) };
    expect(await botToken(parseWorkerConfig({ ...base, DISCORD_TOKEN: 'local-token' }), sm)).toBe('local-token');
  });

  it('says which variable to set when neither is there', async () => {
    await expect(botToken(parseWorkerConfig(base), { send: () => Promise.resolve({}) })).rejects.toThrow(/DISCORD_TOKEN_SECRET_ARN/);
  });

  it('reads the secret once per container and accepts {"token": ...}', async () => {
    let reads = 0;
    const sm = {
      send: () => {
        reads++;
        return Promise.resolve({ SecretString: JSON.stringify({ token: 'from-secret' }) });
      },
    };
    const cfg = parseWorkerConfig({ ...base, DISCORD_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:bot' });
    expect(await botToken(cfg, sm)).toBe('from-secret');
    expect(await botToken(cfg, sm)).toBe('from-secret');
    expect(reads).toBe(1);
  });
});
