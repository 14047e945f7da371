import { GatewayIntentBits } from 'discord-api-types/v10';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ROUTING_TABLE, DISPATCH_INTENTS, INTENT_NAMES, DISPATCH_TYPES, intentsForDispatchTypes, intentsForRouting, withOverrides, type IntentName } from '../../../lib/contract';

/**
 * Discord's list of intents, as the docs print it (intent, its bit, the events it enables):
 * https://discord.com/developers/docs/events/gateway#list-of-intents
 */
const DOCS: ReadonlyArray<[IntentName, number, string[]]> = [
  [
    'GUILDS',
    1 << 0,
    [
      'GUILD_CREATE',
      'GUILD_UPDATE',
      'GUILD_DELETE',
      'GUILD_ROLE_CREATE',
      'GUILD_ROLE_UPDATE',
      'GUILD_ROLE_DELETE',
      'CHANNEL_CREATE',
      'CHANNEL_UPDATE',
      'CHANNEL_DELETE',
      'CHANNEL_PINS_UPDATE',
      'THREAD_CREATE',
      'THREAD_UPDATE',
      'THREAD_DELETE',
      'THREAD_LIST_SYNC',
      'THREAD_MEMBER_UPDATE',
      'THREAD_MEMBERS_UPDATE',
      'STAGE_INSTANCE_CREATE',
      'STAGE_INSTANCE_UPDATE',
      'STAGE_INSTANCE_DELETE',
      'VOICE_CHANNEL_STATUS_UPDATE',
      'VOICE_CHANNEL_START_TIME_UPDATE',
    ],
  ],
  ['GUILD_MEMBERS', 1 << 1, ['GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE', 'THREAD_MEMBERS_UPDATE']],
  ['GUILD_MODERATION', 1 << 2, ['GUILD_AUDIT_LOG_ENTRY_CREATE', 'GUILD_BAN_ADD', 'GUILD_BAN_REMOVE']],
  ['GUILD_EXPRESSIONS', 1 << 3, ['GUILD_EMOJIS_UPDATE', 'GUILD_STICKERS_UPDATE', 'GUILD_SOUNDBOARD_SOUND_CREATE', 'GUILD_SOUNDBOARD_SOUND_UPDATE', 'GUILD_SOUNDBOARD_SOUND_DELETE', 'GUILD_SOUNDBOARD_SOUNDS_UPDATE']],
  ['GUILD_INTEGRATIONS', 1 << 4, ['GUILD_INTEGRATIONS_UPDATE', 'INTEGRATION_CREATE', 'INTEGRATION_UPDATE', 'INTEGRATION_DELETE']],
  ['GUILD_WEBHOOKS', 1 << 5, ['WEBHOOKS_UPDATE']],
  ['GUILD_INVITES', 1 << 6, ['INVITE_CREATE', 'INVITE_DELETE']],
  ['GUILD_VOICE_STATES', 1 << 7, ['VOICE_CHANNEL_EFFECT_SEND', 'VOICE_STATE_UPDATE']],
  ['GUILD_PRESENCES', 1 << 8, ['PRESENCE_UPDATE']],
  ['GUILD_MESSAGES', 1 << 9, ['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'MESSAGE_DELETE_BULK']],
  ['GUILD_MESSAGE_REACTIONS', 1 << 10, ['MESSAGE_REACTION_ADD', 'MESSAGE_REACTION_REMOVE', 'MESSAGE_REACTION_REMOVE_ALL', 'MESSAGE_REACTION_REMOVE_EMOJI']],
  ['GUILD_MESSAGE_TYPING', 1 << 11, ['TYPING_START']],
  ['DIRECT_MESSAGES', 1 << 12, ['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'CHANNEL_PINS_UPDATE']],
  ['DIRECT_MESSAGE_REACTIONS', 1 << 13, ['MESSAGE_REACTION_ADD', 'MESSAGE_REACTION_REMOVE', 'MESSAGE_REACTION_REMOVE_ALL', 'MESSAGE_REACTION_REMOVE_EMOJI']],
  ['DIRECT_MESSAGE_TYPING', 1 << 14, ['TYPING_START']],
  ['MESSAGE_CONTENT', 1 << 15, []],
  ['GUILD_SCHEDULED_EVENTS', 1 << 16, ['GUILD_SCHEDULED_EVENT_CREATE', 'GUILD_SCHEDULED_EVENT_UPDATE', 'GUILD_SCHEDULED_EVENT_DELETE', 'GUILD_SCHEDULED_EVENT_USER_ADD', 'GUILD_SCHEDULED_EVENT_USER_REMOVE']],
  ['AUTO_MODERATION_CONFIGURATION', 1 << 20, ['AUTO_MODERATION_RULE_CREATE', 'AUTO_MODERATION_RULE_UPDATE', 'AUTO_MODERATION_RULE_DELETE']],
  ['AUTO_MODERATION_EXECUTION', 1 << 21, ['AUTO_MODERATION_ACTION_EXECUTION']],
  ['GUILD_MESSAGE_POLLS', 1 << 24, ['MESSAGE_POLL_VOTE_ADD', 'MESSAGE_POLL_VOTE_REMOVE']],
  ['DIRECT_MESSAGE_POLLS', 1 << 25, ['MESSAGE_POLL_VOTE_ADD', 'MESSAGE_POLL_VOTE_REMOVE']],
];
/** Not in the docs' list: the answer to op 8, whose full-list form needs GUILD_MEMBERS (Request Guild Members). */
const BEYOND_THE_LIST: Record<string, IntentName[]> = { GUILD_MEMBERS_CHUNK: ['GUILD_MEMBERS'] };

describe('gateway intents from the routing table', () => {
  it('reads the docs list of intents backwards: every dispatch type needs exactly the intents the docs list it under', () => {
    const expected = new Map<string, Set<string>>(DISPATCH_TYPES.map((t) => [t, new Set(BEYOND_THE_LIST[t] ?? [])]));
    for (const [intent, , events] of DOCS) for (const e of events) expected.get(e)!.add(intent);
    for (const t of DISPATCH_TYPES) expect(new Set(DISPATCH_INTENTS[t]), t).toEqual(expected.get(t));
  });

  it('uses the docs bit of each intent', () => {
    for (const [intent, bit] of DOCS) expect(INTENT_NAMES[intent], intent).toBe(bit);
    expect(Object.keys(INTENT_NAMES).sort()).toEqual(DOCS.map((d) => d[0]).sort());
    expect(intentsForDispatchTypes(['VOICE_STATE_UPDATE']).intents).toBe(GatewayIntentBits.GuildVoiceStates);
  });

  it('computes the default table: GUILDS, GUILD_MEMBERS (privileged), GUILD_MODERATION (bans), GUILD_VOICE_STATES', () => {
    const r = intentsForRouting(DEFAULT_ROUTING_TABLE);
    expect(r.names).toEqual(['GUILDS', 'GUILD_MEMBERS', 'GUILD_MODERATION', 'GUILD_VOICE_STATES']);
    expect(r.intents).toBe(GatewayIntentBits.Guilds | GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildModeration | GatewayIntentBits.GuildVoiceStates);
    expect(r.privileged).toEqual(['GUILD_MEMBERS']);
  });

  it('follows the table: routing presences adds the privileged GUILD_PRESENCES; member sync alone still needs GUILD_MEMBERS; voice off drops GUILD_VOICE_STATES', () => {
    const withPresences = withOverrides({ bulk: { dispatchTypes: [...DEFAULT_ROUTING_TABLE.bulk.dispatchTypes, 'PRESENCE_UPDATE'] } });
    expect(intentsForRouting(withPresences).privileged).toEqual(['GUILD_MEMBERS', 'GUILD_PRESENCES']);
    const syncOnly = withOverrides({ members: { dispatchTypes: ['GUILD_UPDATE'] }, guilds: { dispatchTypes: ['GUILD_CREATE'] } });
    expect(intentsForRouting(syncOnly).privileged).toEqual(['GUILD_MEMBERS']);
    const noVoice = withOverrides({ voice: { dispatchTypes: ['VOICE_SERVER_UPDATE'] } });
    expect(intentsForRouting(noVoice).names).not.toContain('GUILD_VOICE_STATES');
    const interactionsOnly = intentsForDispatchTypes(['INTERACTION_CREATE', 'READY', 'VOICE_SERVER_UPDATE']);
    expect(interactionsOnly).toEqual({ intents: 0, names: [], privileged: [] });
  });

  it('asks for both guild and direct-message intents of a type sent under both', () => {
    expect(intentsForDispatchTypes(['MESSAGE_CREATE']).names).toEqual(['GUILD_MESSAGES', 'DIRECT_MESSAGES']);
    expect(intentsForDispatchTypes(['not-a-type']).intents).toBe(0);
  });
});
