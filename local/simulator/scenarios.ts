/**
 * Payloads for mixed gateway traffic, shaped like Discord's (discord-api-types v10), and a seeded
 * random source so a scenario repeats exactly with the same seed.
 */
import {
  ApplicationCommandType,
  ChannelType,
  GuildDefaultMessageNotifications,
  GuildExplicitContentFilter,
  GuildMFALevel,
  GuildNSFWLevel,
  GuildPremiumTier,
  GuildVerificationLevel,
  InteractionContextType,
  InteractionType,
  Locale,
  type APIGuildMember,
  type APIRole,
  type APISoundboardSound,
  type APIUser,
  type APIVoiceState,
  type ChannelFlags,
  type GatewayGuildCreateDispatchData,
  type GatewayGuildMemberAddDispatchData,
  type GatewayGuildMemberRemoveDispatchData,
  type GatewayGuildMemberUpdateDispatchData,
  type GatewayInteractionCreateDispatchData,
  type GuildMemberFlags,
  type GuildSystemChannelFlags,
  type RoleFlags,
  type UserFlags,
} from 'discord-api-types/v10';
import { snowflakeTime, type SnowflakeGenerator } from './snowflake';

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
  const last = entries.at(-1);
  if (!last) throw new Error('traffic mix has no positive weight: give at least one type a weight above 0');
  const total = entries.reduce((a, [, w]) => a + w, 0);
  return () => {
    let r = random() * total;
    for (const [k, w] of entries) if ((r -= w) < 0) return k;
    // floating-point rounding can leave r just at 0 after the last weight
    return last[0];
  };
}

export interface GuildRef {
  id: string;
  channelId: string;
}

/** A user as the gateway sends it (the simulator names users after their id). */
export const user = (id: string): APIUser => ({
  id,
  username: `user${id.slice(-6)}`,
  discriminator: '0',
  global_name: null,
  avatar: null,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- an empty bit field: the flag enum has no member for 0
  public_flags: 0 as UserFlags,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- an empty bit field: the flag enum has no member for 0
  flags: 0 as UserFlags,
});

/** A guild member who joined at `joinedAt` (Unix ms). */
export const member = (userId: string, joinedAt: number, extra: Partial<APIGuildMember> = {}): APIGuildMember => ({
  user: user(userId),
  nick: null,
  avatar: null,
  banner: null,
  roles: [],
  joined_at: new Date(joinedAt).toISOString(),
  premium_since: null,
  deaf: false,
  mute: false,
  pending: false,
  communication_disabled_until: null,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- an empty bit field: the flag enum has no member for 0
  flags: 0 as GuildMemberFlags,
  ...extra,
});

export const role = (id: string, name: string, position: number, permissions: string): APIRole => ({
  id,
  name,
  permissions,
  position,
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- Discord still sends `color` beside `colors`, and the spec's GuildRoleResponse requires it
  color: 0,
  colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
  hoist: false,
  icon: null,
  unicode_emoji: null,
  managed: false,
  mentionable: false,
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- an empty bit field: the flag enum has no member for 0
  flags: 0 as RoleFlags,
});

export interface GuildLayoutChannel {
  id: string;
  name: string;
  position: number;
  type: 0 | 2;
}

/** The channels and roles of a simulated guild, derived from its id (stable, unique). */
export interface GuildLayout {
  id: string;
  name: string;
  ownerId: string;
  memberCount: number;
  /** general first: every guild has it */
  channels: [GuildLayoutChannel, ...GuildLayoutChannel[]];
  roles: Array<{ id: string; name: string; position: number; permissions: string }>;
  /** members listed inline in GUILD_CREATE */
  inlineMembers: number;
}

export function guildLayout(id: string, name: string, ownerId: string, memberCount: number, generalId: string, channels: number, roles: number, inlineMembers: number): GuildLayout {
  return {
    id,
    name,
    ownerId,
    memberCount,
    // general first, then the extra channels (every fifth a voice channel) and roles
    channels: [{ id: generalId, name: 'general', position: 0, type: 0 }, ...Array.from({ length: channels - 1 }, (_, i): GuildLayoutChannel => ({ id: String(BigInt(id) + BigInt(1000 + i)), name: `channel-${i}`, position: i + 1, type: i % 5 === 4 ? 2 : 0 }))],
    roles: [{ id, name: '@everyone', position: 0, permissions: '0' }, ...Array.from({ length: roles }, (_, i) => ({ id: String(BigInt(id) + BigInt(2000 + i)), name: `role-${i}`, position: i + 1, permissions: '1024' }))],
    inlineMembers,
  };
}

/** GUILD_CREATE for a guild the bot joined when it was created. */
export function guildCreate(g: GuildLayout, voiceStates: GatewayGuildCreateDispatchData['voice_states'] = []): GatewayGuildCreateDispatchData {
  const created = snowflakeTime(g.id);
  return {
    id: g.id,
    name: g.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: g.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: GuildVerificationLevel.None,
    default_message_notifications: GuildDefaultMessageNotifications.AllMessages,
    explicit_content_filter: GuildExplicitContentFilter.Disabled,
    roles: g.roles.map((r) => role(r.id, r.name, r.position, r.permissions)),
    emojis: [],
    features: [],
    mfa_level: GuildMFALevel.None,
    application_id: null,
    system_channel_id: g.channels[0].id,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- an empty bit field: the flag enum has no member for 0
    system_channel_flags: 0 as GuildSystemChannelFlags,
    rules_channel_id: null,
    max_presences: null,
    max_members: 500_000,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: GuildPremiumTier.None,
    premium_subscription_count: 0,
    preferred_locale: Locale.EnglishUS,
    public_updates_channel_id: null,
    max_video_channel_users: 25,
    max_stage_video_channel_users: 50,
    nsfw_level: GuildNSFWLevel.Default,
    stickers: [],
    premium_progress_bar_enabled: false,
    hub_type: null,
    safety_alerts_channel_id: null,
    incidents_data: null,
    joined_at: new Date(created).toISOString(),
    large: g.memberCount > 250,
    unavailable: false,
    member_count: g.memberCount,
    voice_states: voiceStates,
    members: Array.from({ length: Math.min(g.inlineMembers, g.memberCount) }, (_, i) => rosterMember(g, i)),
    channels: g.channels.map((c): GatewayGuildCreateDispatchData['channels'][number] => {
      // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- an empty bit field: the flag enum has no member for 0
      const common = { id: c.id, name: c.name, position: c.position, guild_id: g.id, flags: 0 as ChannelFlags, parent_id: null, permission_overwrites: [], nsfw: false, rate_limit_per_user: 0, last_message_id: null };
      return c.type === 2 ? { ...common, type: ChannelType.GuildVoice, bitrate: 64_000, user_limit: 0, rtc_region: null } : { ...common, type: ChannelType.GuildText, topic: null };
    }),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

/**
 * Member `i` of a guild's roster (0 <= i < memberCount): user id guild id + 3000 + i (distinct within
 * and across guilds, whose ids are 2^22 apart), username `member<i>`, joined when the guild was made.
 */
export const rosterUserId = (g: Pick<GuildLayout, 'id'>, i: number): string => String(BigInt(g.id) + BigInt(3000 + i));
export const rosterUsername = (i: number): string => `member${i}`;

export function rosterMember(g: Pick<GuildLayout, 'id'>, i: number): APIGuildMember {
  const id = rosterUserId(g, i);
  return member(id, snowflakeTime(g.id), { user: { ...user(id), username: rosterUsername(i) } });
}

/** A roster member's index from its user id, or undefined when the id is not one of the guild's members. */
export function rosterIndex(g: Pick<GuildLayout, 'id' | 'memberCount'>, userId: string): number | undefined {
  if (!/^\d{1,20}$/.test(userId)) return undefined;
  const i = Number(BigInt(userId) - BigInt(g.id) - 3000n);
  return Number.isInteger(i) && i >= 0 && i < g.memberCount ? i : undefined;
}

/** Two soundboard sounds of a guild (ids derived from the guild's), as SOUNDBOARD_SOUNDS lists them. */
export function soundboardSounds(guildId: string, creatorId: string): APISoundboardSound[] {
  return ['airhorn', 'quack'].map((name, i) => ({
    name,
    sound_id: String(BigInt(guildId) + BigInt(4000 + i)),
    volume: 1,
    emoji_id: null,
    emoji_name: i === 0 ? '📯' : '🦆',
    guild_id: guildId,
    available: true,
    user: user(creatorId),
  }));
}

/** A member's voice state: in `channelId`, or out of voice when it is null. */
export function voiceState(guildId: string, channelId: string | null, m: APIGuildMember, sessionId: string, self: { mute?: boolean; deaf?: boolean } = {}): APIVoiceState {
  return {
    guild_id: guildId,
    channel_id: channelId,
    user_id: m.user.id,
    member: m,
    session_id: sessionId,
    deaf: false,
    mute: false,
    self_deaf: self.deaf ?? false,
    self_mute: self.mute ?? false,
    self_video: false,
    suppress: false,
    request_to_speak_timestamp: null,
  };
}

export const memberAdd = (guildId: string, userId: string, joinedAt: number, extra: Partial<APIGuildMember> = {}): GatewayGuildMemberAddDispatchData => ({ guild_id: guildId, ...member(userId, joinedAt, extra) });

/** INTERACTION_CREATE for a slash command run by `userId` in a guild text channel. */
export function chatInputInteraction(ix: {
  id: string;
  token: string;
  appId: string;
  guildId: string;
  channelId: string;
  userId: string;
  commandId: string;
  commandName: string;
  createdAt: number;
  options?: Array<{ name: string; type: number; value: unknown }>;
}): GatewayInteractionCreateDispatchData {
  return {
    id: ix.id,
    application_id: ix.appId,
    type: InteractionType.ApplicationCommand,
    token: ix.token,
    version: 1,
    guild_id: ix.guildId,
    guild: { id: ix.guildId, locale: 'en-US' as never, features: [] },
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- Discord still sends channel_id beside channel, and consumers read it
    channel_id: ix.channelId,
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- an empty bit field: the flag enum has no member for 0
    channel: { id: ix.channelId, type: ChannelType.GuildText, name: 'general', guild_id: ix.guildId, flags: 0 as ChannelFlags, position: 0 },
    member: { ...member(ix.userId, ix.createdAt - 86_400_000), permissions: '0' },
    data: { id: ix.commandId, name: ix.commandName, type: ApplicationCommandType.ChatInput, guild_id: ix.guildId, options: ix.options ?? [] },
    locale: 'en-US' as never,
    guild_locale: 'en-US' as never,
    app_permissions: '0',
    entitlements: [],
    authorizing_integration_owners: { '0': ix.guildId },
    context: InteractionContextType.Guild,
    attachment_size_limit: 8_388_608,
  };
}

/** A dispatch payload of `type` in guild `g` (INTERACTION_CREATE excluded: see createInteraction). */
export function payloadFor(type: Exclude<TrafficType, 'INTERACTION_CREATE'>, g: GuildRef, userId: string, ids: SnowflakeGenerator): Record<string, unknown> {
  const now = Date.now();
  const m = member(userId, now - 86_400_000);
  switch (type) {
    case 'GUILD_MEMBER_ADD':
      return { ...memberAdd(g.id, userId, now) } satisfies GatewayGuildMemberAddDispatchData;
    case 'GUILD_MEMBER_UPDATE':
      return { guild_id: g.id, ...m, user: m.user, avatar: null, banner: null, nick: `nick-${userId.slice(-4)}` } satisfies GatewayGuildMemberUpdateDispatchData;
    case 'GUILD_MEMBER_REMOVE':
      return { guild_id: g.id, user: user(userId) } satisfies GatewayGuildMemberRemoveDispatchData;
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
      return {
        id: ids.next(now),
        guild_id: g.id,
        channel_id: g.channelId,
        author: user(userId),
        member: { ...m, user: undefined },
        content: 'hello',
        timestamp: new Date(now).toISOString(),
        edited_timestamp: null,
        tts: false,
        mention_everyone: false,
        mentions: [],
        mention_roles: [],
        attachments: [],
        embeds: [],
        pinned: false,
        type: 0,
      };
    case 'MESSAGE_REACTION_ADD':
      return { user_id: userId, guild_id: g.id, channel_id: g.channelId, message_id: ids.next(now - 60_000), emoji: { id: null, name: '👍' }, type: 0, burst: false };
    case 'TYPING_START':
      return { guild_id: g.id, channel_id: g.channelId, user_id: userId, timestamp: Math.floor(now / 1000), member: m };
    case 'PRESENCE_UPDATE':
      return { guild_id: g.id, user: { id: userId }, status: 'online', activities: [], client_status: { desktop: 'online' } };
    case 'VOICE_STATE_UPDATE':
      return { guild_id: g.id, channel_id: g.channelId, user_id: userId, member: m, session_id: 'voice', deaf: false, mute: false, self_deaf: false, self_mute: false, self_video: false, suppress: false, request_to_speak_timestamp: null };
  }
}
