/**
 * Payloads for mixed gateway traffic, shaped like Discord's (discord-api-types v10), and a seeded
 * random source so a scenario repeats exactly with the same seed.
 */
import type { SnowflakeGenerator } from './snowflake';

/** The dispatch types `traffic()` can produce. INTERACTION_CREATE goes through `createInteraction` (its 3 s window is tracked). */
export const TRAFFIC_TYPES = [
  'INTERACTION_CREATE',
  'GUILD_MEMBER_ADD',
  'GUILD_MEMBER_UPDATE',
  'GUILD_MEMBER_REMOVE',
  'GUILD_UPDATE',
  'GUILD_ROLE_CREATE',
  'GUILD_ROLE_UPDATE',
  'GUILD_ROLE_DELETE',
  'GUILD_BAN_ADD',
  'MESSAGE_CREATE',
  'MESSAGE_REACTION_ADD',
  'TYPING_START',
  'PRESENCE_UPDATE',
  'VOICE_STATE_UPDATE',
] as const;
export type TrafficType = (typeof TRAFFIC_TYPES)[number];

/** A busy bot's gateway: mostly presences, messages and typing that no tier wants, some member and guild changes, a few interactions. */
export const DEFAULT_MIX: Partial<Record<TrafficType, number>> = {
  PRESENCE_UPDATE: 40,
  MESSAGE_CREATE: 22,
  TYPING_START: 15,
  MESSAGE_REACTION_ADD: 5,
  VOICE_STATE_UPDATE: 3,
  GUILD_MEMBER_UPDATE: 5,
  GUILD_MEMBER_ADD: 4,
  GUILD_MEMBER_REMOVE: 2,
  INTERACTION_CREATE: 2,
  GUILD_ROLE_UPDATE: 1,
  GUILD_UPDATE: 1,
};

/** mulberry32: small, fast, good enough for picking event types and users. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Picks keys by weight. */
export function weightedPicker<K extends string>(weights: Partial<Record<K, number>>, random: () => number): () => K {
  const entries = Object.entries(weights).filter(([, w]) => typeof w === 'number' && w > 0) as Array<[K, number]>;
  if (entries.length === 0) throw new Error('traffic mix has no positive weight: give at least one type a weight above 0');
  const total = entries.reduce((a, [, w]) => a + w, 0);
  return () => {
    let r = random() * total;
    for (const [k, w] of entries) if ((r -= w) < 0) return k;
    return entries[entries.length - 1]![0];
  };
}

export interface GuildRef {
  id: string;
  channelId: string;
}

const user = (id: string) => ({ id, username: `user${id.slice(-6)}`, discriminator: '0', global_name: null, avatar: null });

/** A dispatch payload of `type` in guild `g` (INTERACTION_CREATE excluded: see createInteraction). */
export function payloadFor(type: Exclude<TrafficType, 'INTERACTION_CREATE'>, g: GuildRef, userId: string, ids: SnowflakeGenerator): Record<string, unknown> {
  const now = Date.now();
  const member = { user: user(userId), nick: null, roles: [], joined_at: new Date(now - 86_400_000).toISOString(), deaf: false, mute: false, flags: 0 };
  switch (type) {
    case 'GUILD_MEMBER_ADD':
      return { guild_id: g.id, ...member, joined_at: new Date(now).toISOString() };
    case 'GUILD_MEMBER_UPDATE':
      return { guild_id: g.id, ...member, nick: `nick-${userId.slice(-4)}` };
    case 'GUILD_MEMBER_REMOVE':
      return { guild_id: g.id, user: user(userId) };
    case 'GUILD_UPDATE':
      return { id: g.id, name: `Guild ${g.id.slice(-4)} (renamed)`, owner_id: userId, features: [], roles: [], emojis: [], stickers: [] };
    case 'GUILD_ROLE_CREATE':
    case 'GUILD_ROLE_UPDATE':
      return { guild_id: g.id, role: { id: ids.next(now), name: 'role', color: 0, hoist: false, position: 1, permissions: '0', managed: false, mentionable: false, flags: 0 } };
    case 'GUILD_ROLE_DELETE':
      return { guild_id: g.id, role_id: ids.next(now) };
    case 'GUILD_BAN_ADD':
      return { guild_id: g.id, user: user(userId) };
    case 'MESSAGE_CREATE':
      return { id: ids.next(now), guild_id: g.id, channel_id: g.channelId, author: user(userId), member: { ...member, user: undefined }, content: 'hello', timestamp: new Date(now).toISOString(), edited_timestamp: null, tts: false, mention_everyone: false, mentions: [], mention_roles: [], attachments: [], embeds: [], pinned: false, type: 0 };
    case 'MESSAGE_REACTION_ADD':
      return { user_id: userId, guild_id: g.id, channel_id: g.channelId, message_id: ids.next(now - 60_000), emoji: { id: null, name: '👍' }, type: 0, burst: false };
    case 'TYPING_START':
      return { guild_id: g.id, channel_id: g.channelId, user_id: userId, timestamp: Math.floor(now / 1000), member };
    case 'PRESENCE_UPDATE':
      return { guild_id: g.id, user: { id: userId }, status: 'online', activities: [], client_status: { desktop: 'online' } };
    case 'VOICE_STATE_UPDATE':
      return { guild_id: g.id, channel_id: g.channelId, user_id: userId, member, session_id: 'voice', deaf: false, mute: false, self_deaf: false, self_mute: false, self_video: false, suppress: false, request_to_speak_timestamp: null };
  }
}
