import { describe, expect, it } from 'vitest';
import { IngestorConfigError, parseIngestorConfig, parseIntents, parseShardIds, privilegedIntents } from '../../../ingestor/src/config';

const base = { DISCORD_TOKEN: 'secret-token-value', DISCORD_APPLICATION_ID: '100000000000000001', EVENT_BUS_NAME: 'bus', DEAD_LETTER_BUCKET: 'dead-letters' };

describe('ingestor config', () => {
  it('parses shard ranges, intents by name, and defaults', () => {
    const c = parseIngestorConfig({ ...base, SHARD_IDS: '0-3,6', TOTAL_SHARDS: '8' });
    expect(c.shardIds).toEqual([0, 1, 2, 3, 6]);
    expect(c.totalShards).toBe(8);
    // unset: what the default routing table's types need: GUILDS, GUILD_MEMBERS, GUILD_MODERATION (bans), GUILD_VOICE_STATES
    expect(c.intents).toBe(1 | 2 | 4 | 128);
    expect(c.intentsFrom).toBe('routing table');
    expect(privilegedIntents(c.intents)).toEqual(['GUILD_MEMBERS']);
    expect(parseIngestorConfig({ ...base, GATEWAY_INTENTS: 'Guilds' })).toMatchObject({ intents: 1, intentsFrom: 'GATEWAY_INTENTS' });
    expect(parseIntents('GUILDS|GUILD_MEMBERS')).toBe(3);
    expect(privilegedIntents(parseIntents('GUILD_PRESENCES|MESSAGE_CONTENT|GUILDS'))).toEqual(['GUILD_PRESENCES', 'MESSAGE_CONTENT']);
    expect(parseShardIds('2')).toEqual([2]);
  });

  it('reads the initial presence (GATEWAY_PRESENCE) with the rules of a presence command, naming the bad field', () => {
    const presence = { status: 'dnd', activities: [{ name: '/help', type: 0 }], since: null, afk: false };
    expect(parseIngestorConfig({ ...base, GATEWAY_PRESENCE: JSON.stringify(presence) }).presence).toEqual(presence);
    expect(parseIngestorConfig(base).presence).toBeUndefined();
    expect(() => parseIngestorConfig({ ...base, GATEWAY_PRESENCE: JSON.stringify({ ...presence, activities: [{ name: 'x'.repeat(129), type: 0 }] }) })).toThrow(/GATEWAY_PRESENCE: .*d\.activities\.0\.name: at most 128 characters/);
    expect(() => parseIngestorConfig({ ...base, GATEWAY_PRESENCE: '{status' })).toThrow(/GATEWAY_PRESENCE: not JSON/);
  });

  it('names the variable and what to set when shard ids exceed the total', () => {
    expect(() => parseIngestorConfig({ ...base, SHARD_IDS: '4-9', TOTAL_SHARDS: '4' })).toThrow('SHARD_IDS 4-9 exceed TOTAL_SHARDS=4: set TOTAL_SHARDS or narrow SHARD_IDS');
  });

  it('lists every problem at once and never echoes the token', () => {
    try {
      parseIngestorConfig({ DISCORD_TOKEN: 'secret-token-value', DISCORD_APPLICATION_ID: 'abc', GATEWAY_INTENTS: 'Guilds|Nope', HTTP_PORT: '99999' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(IngestorConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain('DISCORD_APPLICATION_ID');
      expect(msg).toContain('EVENT_BUS_NAME');
      expect(msg).toContain('HTTP_PORT');
      expect(msg).not.toContain('secret-token-value');
    }
    expect(() => parseIngestorConfig({ ...base, GATEWAY_INTENTS: 'Guilds|Nope' })).toThrow(/GATEWAY_INTENTS: unknown intent "Nope"/);
    expect(() => parseIngestorConfig({ DISCORD_APPLICATION_ID: '1', EVENT_BUS_NAME: 'b' })).toThrow(/DISCORD_TOKEN \/ DISCORD_TOKEN_SECRET_ARN: set one/);
  });

  it('needs a bucket for durable dead letters: DEAD_LETTER_BUCKET, or the claim-check bucket', () => {
    const { DEAD_LETTER_BUCKET: _, ...noBucket } = base;
    expect(() => parseIngestorConfig(noBucket)).toThrow(/DEAD_LETTER_BUCKET: missing: set it \(or CLAIM_CHECK_BUCKET/);
    expect(parseIngestorConfig({ ...noBucket, CLAIM_CHECK_BUCKET: 'claims' }).deadLetterBucket).toBe('claims');
    expect(parseIngestorConfig({ ...base, CLAIM_CHECK_BUCKET: 'claims' }).deadLetterBucket).toBe('dead-letters');
    expect(parseIngestorConfig(base).maxInFlight).toBe(64);
  });
});
