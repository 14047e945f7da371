/**
 * Gateway intents from the routing table: which intents the IDENTIFY must ask for so that Discord
 * sends every dispatch type a tier routes, and which of those are privileged (they must also be
 * switched on for the application in the Developer Portal, or Discord closes the connection with
 * 4014 "disallowed intents").
 *
 * The table below is Discord's list of intents read the other way round (dispatch type -> the
 * intents under which Discord sends it): https://discord.com/developers/docs/events/gateway#list-of-intents
 * It is a Record over every dispatch type discord-api-types knows, so a new type does not compile until
 * someone decides which intent it needs.
 */
import { GatewayIntentBits } from 'discord-api-types/v10';
import type { DispatchType } from './dispatch';
import { DEFAULT_ROUTING_TABLE, type RoutingTable } from './routing';

/** The intents' names as Discord's docs write them (the bit values come from discord-api-types). */
export const INTENT_NAMES = {
  GUILDS: GatewayIntentBits.Guilds,
  GUILD_MEMBERS: GatewayIntentBits.GuildMembers,
  GUILD_MODERATION: GatewayIntentBits.GuildModeration,
  GUILD_EXPRESSIONS: GatewayIntentBits.GuildExpressions,
  GUILD_INTEGRATIONS: GatewayIntentBits.GuildIntegrations,
  GUILD_WEBHOOKS: GatewayIntentBits.GuildWebhooks,
  GUILD_INVITES: GatewayIntentBits.GuildInvites,
  GUILD_VOICE_STATES: GatewayIntentBits.GuildVoiceStates,
  GUILD_PRESENCES: GatewayIntentBits.GuildPresences,
  GUILD_MESSAGES: GatewayIntentBits.GuildMessages,
  GUILD_MESSAGE_REACTIONS: GatewayIntentBits.GuildMessageReactions,
  GUILD_MESSAGE_TYPING: GatewayIntentBits.GuildMessageTyping,
  DIRECT_MESSAGES: GatewayIntentBits.DirectMessages,
  DIRECT_MESSAGE_REACTIONS: GatewayIntentBits.DirectMessageReactions,
  DIRECT_MESSAGE_TYPING: GatewayIntentBits.DirectMessageTyping,
  MESSAGE_CONTENT: GatewayIntentBits.MessageContent,
  GUILD_SCHEDULED_EVENTS: GatewayIntentBits.GuildScheduledEvents,
  AUTO_MODERATION_CONFIGURATION: GatewayIntentBits.AutoModerationConfiguration,
  AUTO_MODERATION_EXECUTION: GatewayIntentBits.AutoModerationExecution,
  GUILD_MESSAGE_POLLS: GatewayIntentBits.GuildMessagePolls,
  DIRECT_MESSAGE_POLLS: GatewayIntentBits.DirectMessagePolls,
} as const;
export type IntentName = keyof typeof INTENT_NAMES;

/** Intents Discord marks privileged: each must be enabled in the Developer Portal (and approved for verified bots). */
export const PRIVILEGED_INTENTS: readonly IntentName[] = ['GUILD_MEMBERS', 'GUILD_PRESENCES', 'MESSAGE_CONTENT'];

const G = 'GUILDS';
const MSG = ['GUILD_MESSAGES', 'DIRECT_MESSAGES'] as const;
const REACTIONS = ['GUILD_MESSAGE_REACTIONS', 'DIRECT_MESSAGE_REACTIONS'] as const;
const POLLS = ['GUILD_MESSAGE_POLLS', 'DIRECT_MESSAGE_POLLS'] as const;

/**
 * Every intent under which Discord sends each dispatch type; [] = sent without any intent. A type
 * listed under a guild and a direct-message intent (messages, reactions, typing, polls) needs both
 * to arrive from both places, so both are asked for.
 *
 * Beyond the docs' list: GUILD_MEMBERS_CHUNK answers op 8 (Request Guild Members), and asking for a
 * guild's whole member list (query "", limit 0) needs GUILD_MEMBERS
 * (https://discord.com/developers/docs/events/gateway-events#request-guild-members).
 * THREAD_MEMBERS_UPDATE is under GUILDS and GUILD_MEMBERS in the docs: without the latter it only
 * reports the bot itself, so both are asked for.
 */
export const DISPATCH_INTENTS: Readonly<Record<DispatchType, readonly IntentName[]>> = Object.freeze({
  APPLICATION_COMMAND_PERMISSIONS_UPDATE: [],
  AUTO_MODERATION_ACTION_EXECUTION: ['AUTO_MODERATION_EXECUTION'],
  AUTO_MODERATION_RULE_CREATE: ['AUTO_MODERATION_CONFIGURATION'],
  AUTO_MODERATION_RULE_DELETE: ['AUTO_MODERATION_CONFIGURATION'],
  AUTO_MODERATION_RULE_UPDATE: ['AUTO_MODERATION_CONFIGURATION'],
  CHANNEL_CREATE: [G],
  CHANNEL_DELETE: [G],
  CHANNEL_INFO: [],
  CHANNEL_PINS_UPDATE: [G, 'DIRECT_MESSAGES'],
  CHANNEL_UPDATE: [G],
  ENTITLEMENT_CREATE: [],
  ENTITLEMENT_DELETE: [],
  ENTITLEMENT_UPDATE: [],
  GUILD_AUDIT_LOG_ENTRY_CREATE: ['GUILD_MODERATION'],
  GUILD_BAN_ADD: ['GUILD_MODERATION'],
  GUILD_BAN_REMOVE: ['GUILD_MODERATION'],
  GUILD_CREATE: [G],
  GUILD_DELETE: [G],
  GUILD_EMOJIS_UPDATE: ['GUILD_EXPRESSIONS'],
  GUILD_INTEGRATIONS_UPDATE: ['GUILD_INTEGRATIONS'],
  GUILD_MEMBER_ADD: ['GUILD_MEMBERS'],
  GUILD_MEMBER_REMOVE: ['GUILD_MEMBERS'],
  GUILD_MEMBERS_CHUNK: ['GUILD_MEMBERS'],
  GUILD_MEMBER_UPDATE: ['GUILD_MEMBERS'],
  GUILD_ROLE_CREATE: [G],
  GUILD_ROLE_DELETE: [G],
  GUILD_ROLE_UPDATE: [G],
  GUILD_SCHEDULED_EVENT_CREATE: ['GUILD_SCHEDULED_EVENTS'],
  GUILD_SCHEDULED_EVENT_DELETE: ['GUILD_SCHEDULED_EVENTS'],
  GUILD_SCHEDULED_EVENT_UPDATE: ['GUILD_SCHEDULED_EVENTS'],
  GUILD_SCHEDULED_EVENT_USER_ADD: ['GUILD_SCHEDULED_EVENTS'],
  GUILD_SCHEDULED_EVENT_USER_REMOVE: ['GUILD_SCHEDULED_EVENTS'],
  GUILD_SOUNDBOARD_SOUND_CREATE: ['GUILD_EXPRESSIONS'],
  GUILD_SOUNDBOARD_SOUND_DELETE: ['GUILD_EXPRESSIONS'],
  GUILD_SOUNDBOARD_SOUNDS_UPDATE: ['GUILD_EXPRESSIONS'],
  GUILD_SOUNDBOARD_SOUND_UPDATE: ['GUILD_EXPRESSIONS'],
  SOUNDBOARD_SOUNDS: [],
  GUILD_STICKERS_UPDATE: ['GUILD_EXPRESSIONS'],
  GUILD_UPDATE: [G],
  INTEGRATION_CREATE: ['GUILD_INTEGRATIONS'],
  INTEGRATION_DELETE: ['GUILD_INTEGRATIONS'],
  INTEGRATION_UPDATE: ['GUILD_INTEGRATIONS'],
  INTERACTION_CREATE: [],
  INVITE_CREATE: ['GUILD_INVITES'],
  INVITE_DELETE: ['GUILD_INVITES'],
  MESSAGE_CREATE: MSG,
  MESSAGE_DELETE: MSG,
  MESSAGE_DELETE_BULK: ['GUILD_MESSAGES'],
  MESSAGE_POLL_VOTE_ADD: POLLS,
  MESSAGE_POLL_VOTE_REMOVE: POLLS,
  MESSAGE_REACTION_ADD: REACTIONS,
  MESSAGE_REACTION_REMOVE: REACTIONS,
  MESSAGE_REACTION_REMOVE_ALL: REACTIONS,
  MESSAGE_REACTION_REMOVE_EMOJI: REACTIONS,
  MESSAGE_UPDATE: MSG,
  PRESENCE_UPDATE: ['GUILD_PRESENCES'],
  RATE_LIMITED: [],
  READY: [],
  RESUMED: [],
  STAGE_INSTANCE_CREATE: [G],
  STAGE_INSTANCE_DELETE: [G],
  STAGE_INSTANCE_UPDATE: [G],
  SUBSCRIPTION_CREATE: [],
  SUBSCRIPTION_DELETE: [],
  SUBSCRIPTION_UPDATE: [],
  THREAD_CREATE: [G],
  THREAD_DELETE: [G],
  THREAD_LIST_SYNC: [G],
  THREAD_MEMBERS_UPDATE: [G, 'GUILD_MEMBERS'],
  THREAD_MEMBER_UPDATE: [G],
  THREAD_UPDATE: [G],
  TYPING_START: ['GUILD_MESSAGE_TYPING', 'DIRECT_MESSAGE_TYPING'],
  USER_UPDATE: [],
  VOICE_CHANNEL_EFFECT_SEND: ['GUILD_VOICE_STATES'],
  VOICE_CHANNEL_START_TIME_UPDATE: [G],
  VOICE_CHANNEL_STATUS_UPDATE: [G],
  VOICE_SERVER_UPDATE: [],
  VOICE_STATE_UPDATE: ['GUILD_VOICE_STATES'],
  WEBHOOKS_UPDATE: ['GUILD_WEBHOOKS'],
} satisfies Record<DispatchType, readonly IntentName[]>);

export interface ComputedIntents {
  /** the IDENTIFY's intents bitfield */
  readonly intents: number;
  /** every intent in it, by Discord's name, in bit order */
  readonly names: readonly IntentName[];
  /** the privileged ones among them: each must be enabled in the Developer Portal */
  readonly privileged: readonly IntentName[];
}

/** The intents Discord needs to send these dispatch types (unknown names contribute nothing). */
export function intentsForDispatchTypes(types: Iterable<string>): ComputedIntents {
  let intents = 0;
  for (const t of types) {
    const needed = (DISPATCH_INTENTS as Readonly<Record<string, readonly IntentName[] | undefined>>)[t] ?? [];
    for (const name of needed) intents |= INTENT_NAMES[name];
  }
  const names = (Object.keys(INTENT_NAMES) as IntentName[]).filter((n) => (intents & INTENT_NAMES[n]) !== 0).sort((a, b) => INTENT_NAMES[a] - INTENT_NAMES[b]);
  return { intents, names, privileged: names.filter((n) => PRIVILEGED_INTENTS.includes(n)) };
}

/** The intents every dispatch type the routing table routes needs (types no tier lists are dropped anyway). */
export function intentsForRouting(table: RoutingTable = DEFAULT_ROUTING_TABLE): ComputedIntents {
  return intentsForDispatchTypes(Object.values(table).flatMap((tier) => tier.dispatchTypes));
}
