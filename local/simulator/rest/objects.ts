/**
 * The objects the simulator's REST routes answer with, typed with the spec's response types (so the
 * compiler checks every required field) and filled the way Discord fills them: snowflake ids whose
 * timestamp is the creation time, ISO timestamps, `flags`, `type`, empty arrays and nulls where
 * Discord sends them.
 */
import type {
  ApplicationCommandResponse,
  ApplicationCommandUpdateRequest,
  GatewayBotResponse,
  GuildChannelResponse,
  GuildMemberResponse,
  GuildRoleResponse,
  GuildWithCountsResponse,
  MessageEmbedResponse,
  MessageResponse,
  PrivateApplicationResponse,
  RichEmbed,
  UserPIIResponse,
  UserResponse,
} from 'discord-api-spec';
import { role as gatewayRole } from '../scenarios';
import { snowflakeTime } from '../snowflake';
import * as E from './spec-enums';

const iso = (ms: number) => new Date(ms).toISOString();

export function user(id: string, username: string, extra: Partial<UserResponse> = {}): UserResponse {
  return { id, username, avatar: null, discriminator: '0', public_flags: 0, flags: 0, global_name: null, primary_guild: null, ...extra };
}

export const botUser = (appId: string): UserResponse => user(appId, 'simulated-bot', { bot: true });

/** GET /users/@me for a bot token: the bot user with its account fields. */
export function currentUser(appId: string): UserPIIResponse {
  const { primary_guild: _, ...u } = botUser(appId);
  return { ...u, mfa_enabled: false, locale: E.EN_US, verified: true, email: null };
}

/** GET /applications/@me: the bot's application, owned by a (fake) user made a minute before it. */
export function application(appId: string): PrivateApplicationResponse {
  return {
    id: appId,
    name: 'Simulated App',
    icon: null,
    description: '',
    type: null,
    bot: botUser(appId),
    bot_public: true,
    bot_require_code_grant: false,
    flags: 0,
    flags_new: '0',
    verify_key: '0'.repeat(64),
    redirect_uris: [],
    interactions_endpoint_url: null,
    role_connections_verification_url: null,
    owner: user(String(BigInt(appId) - (60_000n << 22n)), 'simulated-owner'),
    approximate_guild_count: 0,
    approximate_user_install_count: 0,
    approximate_user_authorization_count: 0,
    explicit_content_filter: E.APP_EXPLICIT_CONTENT_FILTER_INHERIT,
    team: null,
    eligible_oauth2_scopes: [],
    integration_types_config: { '0': { oauth2_install_params: { scopes: [E.SCOPE_APPLICATIONS_COMMANDS, E.SCOPE_BOT], permissions: '0' } } },
  };
}

export function gatewayBot(url: string, shards: number, limit: GatewayBotResponse['session_start_limit']): GatewayBotResponse {
  return { url, shards, session_start_limit: limit };
}

/** A role as REST returns it: the gateway's role object (scenarios.ts), which the spec's schema accepts as is. */
export const role = (id: string, name: string, position: number, permissions: string): GuildRoleResponse => gatewayRole(id, name, position, permissions) as GuildRoleResponse;

export interface GuildShape {
  id: string;
  name: string;
  ownerId: string;
  memberCount: number;
  /** the text channel every guild has; system messages go there */
  channelId: string;
  roles: Array<{ id: string; name: string; position: number; permissions: string }>;
}

/** GET /guilds/{id}; `withCounts` adds approximate_member_count and approximate_presence_count. */
export function guild(g: GuildShape, withCounts: boolean): GuildWithCountsResponse {
  return {
    id: g.id,
    name: g.name,
    icon: null,
    description: null,
    home_header: null,
    splash: null,
    discovery_splash: null,
    features: [],
    banner: null,
    owner_id: g.ownerId,
    application_id: null,
    region: 'deprecated',
    afk_channel_id: null,
    afk_timeout: E.AFK_FIVE_MINUTES,
    system_channel_id: g.channelId,
    system_channel_flags: 0,
    widget_enabled: false,
    widget_channel_id: null,
    verification_level: E.VERIFICATION_NONE,
    roles: g.roles.map((r) => role(r.id, r.name, r.position, r.permissions)),
    default_message_notifications: E.NOTIFY_ALL_MESSAGES,
    mfa_level: E.MFA_NONE,
    explicit_content_filter: E.EXPLICIT_CONTENT_FILTER_DISABLED,
    max_presences: null,
    max_members: 500_000,
    max_stage_video_channel_users: 50,
    max_video_channel_users: 25,
    vanity_url_code: null,
    premium_tier: E.PREMIUM_TIER_NONE,
    premium_subscription_count: 0,
    preferred_locale: E.EN_US,
    rules_channel_id: null,
    safety_alerts_channel_id: null,
    public_updates_channel_id: null,
    premium_progress_bar_enabled: false,
    nsfw: false,
    nsfw_level: E.NSFW_DEFAULT,
    emojis: [],
    stickers: [],
    incidents_data: null,
    ...(withCounts ? { approximate_member_count: g.memberCount, approximate_presence_count: Math.ceil(g.memberCount / 4) } : {}),
  };
}

/** A member who joined `joinedAt` (Unix ms). */
export function member(u: UserResponse, joinedAt: number, roles: string[] = []): GuildMemberResponse {
  return {
    avatar: null,
    banner: null,
    communication_disabled_until: null,
    flags: 0,
    joined_at: iso(joinedAt),
    nick: null,
    pending: false,
    premium_since: null,
    roles,
    user: u,
    mute: false,
    deaf: false,
  };
}

export function textChannel(id: string, guildId: string, name: string, position: number, type: 0 | 2 = 0): GuildChannelResponse {
  const common = { id, guild_id: guildId, name, position, flags: 0, parent_id: null, permission_overwrites: [] };
  return type === 2
    ? { ...common, type: E.CHANNEL_GUILD_VOICE, bitrate: 64_000, user_limit: 0, rtc_region: null, rate_limit_per_user: 0, nsfw: false, last_message_id: null }
    : { ...common, type: E.CHANNEL_GUILD_TEXT, topic: null, nsfw: false, rate_limit_per_user: 0, last_message_id: null };
}

/** What a message create or edit request may carry (the spec's request fields the simulator keeps). */
export interface MessageFields {
  content?: string | null;
  embeds?: RichEmbed[] | null;
  components?: unknown[] | null;
  flags?: number | null;
  tts?: boolean | null;
  nonce?: number | string | null;
}

/** Discord answers a rich embed with its type, nulls dropped and fields' `inline` filled. */
function embed(e: RichEmbed): MessageEmbedResponse {
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(e).filter(([, v]) => v !== null));
  if (Array.isArray(out.fields)) out.fields = (out.fields as Array<{ name: string; value: string; inline?: boolean | null }>).map((f) => ({ name: f.name, value: f.value, inline: f.inline ?? false }));
  return { ...out, type: typeof out.type === 'string' ? out.type : 'rich' };
}

/** Discord gives every component of a message a numeric `id`, depth first. */
function numberComponents(components: unknown[]): MessageResponse['components'] {
  let n = 0;
  const walk = (c: unknown): unknown => {
    if (c === null || typeof c !== 'object') return c;
    const o = { ...(c as Record<string, unknown>) };
    o.id = typeof o.id === 'number' ? o.id : ++n;
    if (Array.isArray(o.components)) o.components = o.components.map(walk);
    return o;
  };
  return components.map(walk) as MessageResponse['components'];
}

/** A message created at `id`'s timestamp from the request's fields. */
export function message(id: string, channelId: string, author: UserResponse, fields: MessageFields, extra: Partial<MessageResponse> = {}): MessageResponse {
  return {
    id,
    channel_id: channelId,
    type: E.MESSAGE_DEFAULT,
    content: fields.content ?? '',
    author,
    mentions: [],
    mention_roles: [],
    mention_everyone: false,
    attachments: [],
    embeds: (fields.embeds ?? []).map(embed),
    components: numberComponents(fields.components ?? []),
    timestamp: iso(snowflakeTime(id)),
    edited_timestamp: null,
    flags: fields.flags ?? 0,
    pinned: false,
    tts: fields.tts ?? false,
    ...(fields.nonce !== undefined && fields.nonce !== null ? { nonce: fields.nonce } : {}),
    ...extra,
  };
}

/** An edit: the fields sent replace the message's, `edited_timestamp` is now. */
export function edited(m: MessageResponse, fields: MessageFields, at: number, keepFlags: number): MessageResponse {
  return {
    ...m,
    ...(fields.content !== undefined ? { content: fields.content ?? '' } : {}),
    ...(fields.embeds !== undefined ? { embeds: (fields.embeds ?? []).map(embed) } : {}),
    ...(fields.components !== undefined ? { components: numberComponents(fields.components ?? []) } : {}),
    flags: (fields.flags ?? m.flags) & keepFlags,
    edited_timestamp: iso(at),
  };
}

/** A command as Discord stores it after a bulk overwrite. */
export function command(id: string, appId: string, c: ApplicationCommandUpdateRequest): ApplicationCommandResponse {
  const perms = c.default_member_permissions;
  return {
    ...c,
    id,
    application_id: appId,
    version: id,
    type: c.type ?? E.COMMAND_CHAT,
    name: c.name,
    description: c.description ?? '',
    default_member_permissions: perms === null || perms === undefined ? null : String(perms),
    dm_permission: c.dm_permission ?? true,
    contexts: c.contexts ?? null,
    integration_types: c.integration_types ?? [E.GUILD_INSTALL],
    nsfw: false,
    options: (c.options ?? undefined) as ApplicationCommandResponse['options'],
  } as ApplicationCommandResponse;
}
