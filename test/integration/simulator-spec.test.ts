/**
 * The simulator against Discord's published OpenAPI spec (discord-api-spec): every route it serves
 * answers with a body the spec's response schema accepts, and refuses what Discord refuses (a
 * malformed body, path id or query: 400/50035 naming the field; no bot token: 401). Then the real
 * discord.js Client, and the gateway's dispatch shapes against discord-api-types.
 */
import type { ZodMiniType } from 'zod/mini';
import {
  GatewayDispatchEvents,
  MessageType,
  type APIApplicationCommand,
  type APIMessage,
  type RESTPostAPIInteractionCallbackWithResponseResult,
  type GatewayGuildCreateDispatchData,
  type GatewayGuildMemberAddDispatchData,
  type GatewayGuildMemberRemoveDispatchData,
  type GatewayGuildMemberUpdateDispatchData,
  type APIChatInputApplicationCommandGuildInteraction,
  type GatewayReadyDispatchData,
  type APIGuildMember,
  type APIUser,
} from 'discord-api-types/v10';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordSimulator, ROUTES, snowflakeTime, specVersion, type RouteName } from '../../local/simulator';
import { fieldIssues } from '../../local/simulator/rest/errors';
import { loadSpec, schema, type SpecSchemas } from '../../local/simulator/rest/spec';
import { connectManager, until } from '../../local/simulator/testing';

let sim: DiscordSimulator;
let spec: SpecSchemas;
beforeAll(async () => {
  spec = await loadSpec();
  // limits out of the way: this file checks shapes, simulator.test.ts checks the limits
  sim = await DiscordSimulator.start({ guilds: 2, heartbeatIntervalMs: 500, identifyWindowMs: 50, rateLimits: { global: { limit: 10_000, windowMs: 1000 }, route: { limit: 10_000, windowMs: 1000 } } });
});
afterAll(() => sim.stop());

interface Call {
  method: string;
  path: string;
  query?: string;
  body?: unknown;
  auth?: boolean;
}
async function call(c: Call): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${sim.restUrl}/v10${c.path}${c.query ? `?${c.query}` : ''}`, {
    method: c.method,
    headers: { ...(c.auth === false ? {} : { Authorization: `Bot ${sim.token}` }), ...(c.body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    body: c.body === undefined ? undefined : JSON.stringify(c.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

/** The `errors` tree of Discord's "Invalid Form Body" answer: the request's shape, each bad field with its `_errors`. */
const errorsOf = (body: unknown) => (body as { errors?: unknown }).errors;

/** The first error code at a path of the `errors` tree (`[]`: the request as a whole). */
function errorCode(body: unknown, path: string[]): string | undefined {
  let node = errorsOf(body);
  for (const k of path) node = (node as Record<string, unknown> | undefined)?.[k];
  return (node as { _errors?: { code: string }[] } | undefined)?._errors?.[0]?.code;
}

/** An interaction whose callback (type 4, or 5 when deferred) is done, for the webhook routes. */
async function answered(deferred = false) {
  const ix = sim.createInteraction({ commandName: 'ping' });
  const r = await call({ method: 'POST', path: `/interactions/${ix.id}/${ix.token}/callback`, body: deferred ? { type: 5 } : { type: 4, data: { content: 'Pong!' } }, auth: false });
  expect(r.status).toBe(204);
  return ix;
}

const MALFORMED = { content: 42, embeds: 'no' };
const g = () => sim.guildIds[0]!;
const general = async () => ((await call({ method: 'GET', path: `/guilds/${g()}` })).body as { system_channel_id: string }).system_channel_id;

/**
 * Per route: a valid request, and a malformed one with the field paths Discord must name. Every
 * route the simulator serves must be here (checked below), so a new route comes with its checks.
 */
const SAMPLES: Record<RouteName, { ok: () => Call | Promise<Call>; bad: () => Call | Promise<Call>; fields: string[] }> = {
  gateway_bot: { ok: () => ({ method: 'GET', path: '/gateway/bot' }), bad: () => ({ method: 'GET', path: '/gateway/bot', auth: false }), fields: [] },
  current_user: { ok: () => ({ method: 'GET', path: '/users/@me' }), bad: () => ({ method: 'GET', path: '/users/@me', auth: false }), fields: [] },
  current_application: { ok: () => ({ method: 'GET', path: '/applications/@me' }), bad: () => ({ method: 'GET', path: '/applications/@me', auth: false }), fields: [] },
  guild: {
    ok: () => ({ method: 'GET', path: `/guilds/${g()}`, query: 'with_counts=true' }),
    bad: () => ({ method: 'GET', path: `/guilds/${g()}`, query: 'with_counts=maybe' }),
    fields: ['with_counts'],
  },
  guild_member: {
    ok: () => ({ method: 'GET', path: `/guilds/${g()}/members/600000000000000001` }),
    bad: () => ({ method: 'GET', path: `/guilds/${g()}/members/someone` }),
    fields: ['user_id'],
  },
  channel: { ok: async () => ({ method: 'GET', path: `/channels/${await general()}` }), bad: () => ({ method: 'GET', path: '/channels/general' }), fields: ['channel_id'] },
  channel_message: {
    ok: async () => ({
      method: 'POST',
      path: `/channels/${await general()}/messages`,
      body: { content: 'hi', tts: false, embeds: [{ title: 't', fields: [{ name: 'a', value: 'b' }] }], components: [{ type: 1, components: [{ type: 2, style: 1, label: 'Go', custom_id: 'go' }] }] },
    }),
    bad: async () => ({ method: 'POST', path: `/channels/${await general()}/messages`, body: MALFORMED }),
    fields: ['content', 'embeds'],
  },
  commands_overwrite: {
    ok: () => ({
      method: 'PUT',
      path: `/applications/${sim.appId}/commands`,
      body: [
        { name: 'ping', description: 'Pong', default_member_permissions: '8' },
        { name: 'echo', description: 'Says it back', options: [{ type: 3, name: 'text', description: 'what to say', required: true }], contexts: [0] },
      ],
    }),
    bad: () => ({ method: 'PUT', path: `/applications/${sim.appId}/commands`, body: [{ name: 42, options: 'no' }] }),
    fields: ['0.name', '0.options'],
  },
  member_role_add: {
    ok: () => ({ method: 'PUT', path: `/guilds/${g()}/members/600000000000000001/roles/${g()}` }),
    bad: () => ({ method: 'PUT', path: `/guilds/${g()}/members/600000000000000001/roles/admin` }),
    fields: ['role_id'],
  },
  member_role_remove: {
    ok: () => ({ method: 'DELETE', path: `/guilds/${g()}/members/600000000000000001/roles/${g()}` }),
    bad: () => ({ method: 'DELETE', path: `/guilds/x/members/600000000000000001/roles/${g()}` }),
    fields: ['guild_id'],
  },
  interaction_callback: {
    ok: () => {
      const ix = sim.createInteraction({ commandName: 'ping' });
      return { method: 'POST', path: `/interactions/${ix.id}/${ix.token}/callback`, query: 'with_response=true', body: { type: 4, data: { content: 'Pong!', flags: 64 } }, auth: false };
    },
    bad: () => {
      const ix = sim.createInteraction({ commandName: 'ping' });
      return { method: 'POST', path: `/interactions/${ix.id}/${ix.token}/callback`, body: { type: 4, data: MALFORMED }, auth: false };
    },
    fields: ['data.content', 'data.embeds'],
  },
  webhook_original_get: {
    ok: async () => ({ method: 'GET', path: `/webhooks/${sim.appId}/${(await answered()).token}/messages/@original`, auth: false }),
    bad: async () => ({ method: 'GET', path: `/webhooks/${sim.appId}/${(await answered()).token}/messages/@original`, query: 'thread_id=main', auth: false }),
    fields: ['thread_id'],
  },
  webhook_original_edit: {
    ok: async () => ({ method: 'PATCH', path: `/webhooks/${sim.appId}/${(await answered(true)).token}/messages/@original`, body: { content: 'done', embeds: [{ description: 'd' }] }, auth: false }),
    bad: async () => ({ method: 'PATCH', path: `/webhooks/${sim.appId}/${(await answered(true)).token}/messages/@original`, body: MALFORMED, auth: false }),
    fields: ['content', 'embeds'],
  },
  webhook_followup: {
    ok: async () => ({ method: 'POST', path: `/webhooks/${sim.appId}/${(await answered()).token}`, query: 'wait=true', body: { content: 'and more', flags: 64 }, auth: false }),
    bad: async () => ({ method: 'POST', path: `/webhooks/${sim.appId}/${(await answered()).token}`, body: MALFORMED, auth: false }),
    fields: ['content', 'embeds'],
  },
};

/** The `errors` tree's leaves as dotted paths. */
function errorPaths(tree: unknown, prefix: string[] = []): string[] {
  if (!tree || typeof tree !== 'object') return [];
  return Object.entries(tree as Record<string, unknown>).flatMap(([k, v]) => (k === '_errors' ? [prefix.join('.')] : errorPaths(v, [...prefix, k])));
}

const conforms = (s: ZodMiniType, value: unknown) => fieldIssues(s, value).map((i) => `${i.path.join('.')}: ${i.error.code} ${i.error.message}`);

describe(`simulator REST against Discord's OpenAPI spec (discord-api-spec ${specVersion()})`, () => {
  it('has a check for every route it serves, and every route is a path of the spec', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(ROUTES.map((r) => r.name).sort());
    expect(specVersion()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  for (const def of ROUTES) {
    it(`${def.method} ${def.path} (${def.name}) answers with a body the spec's response schema accepts`, async () => {
      const r = await call(await SAMPLES[def.name].ok());
      expect(r.status).toBe(def.response ? 200 : 204);
      if (def.response) expect(conforms(def.response(spec), r.body)).toEqual([]);
      else expect(r.body).toBeUndefined();
    });

    it(`${def.method} ${def.path} (${def.name}) refuses a malformed request as Discord does`, async () => {
      const sample = SAMPLES[def.name];
      const r = await call(await sample.bad());
      // the spec's ErrorResponse types the tree's inner codes as numbers; Discord sends strings
      // ("BASE_TYPE_REQUIRED", as its docs show), so only the envelope is held to the spec here
      expect(conforms(schema(spec, 'ErrorSchema'), r.body)).toEqual([]);
      if (sample.fields.length === 0) {
        // nothing to malform: the bot token is what it refuses
        expect(r).toEqual({ status: 401, body: { message: '401: Unauthorized', code: 0 } });
        return;
      }
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ code: 50035, message: 'Invalid Form Body' });
      expect(errorPaths(errorsOf(r.body)).sort()).toEqual([...sample.fields].sort());
    });
  }

  it('answers a malformed body field by field, with codes and messages', async () => {
    const r = await call({ method: 'POST', path: `/channels/${await general()}/messages`, body: MALFORMED });
    expect(errorsOf(r.body)).toEqual({
      content: { _errors: [{ code: 'STRING_TYPE_CONVERT', message: 'Could not interpret "42" as string.' }] },
      embeds: { _errors: [{ code: 'LIST_TYPE_CONVERT', message: 'Only iterables may be used in a ListType' }] },
    });
    const long = await call({ method: 'POST', path: `/channels/${await general()}/messages`, body: { content: 'x'.repeat(4001) } });
    expect(errorsOf(long.body)).toEqual({ content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 4000 or fewer in length.' }] } });
    const unknownType = await call({ method: 'POST', path: `/interactions/${sim.createInteraction({ commandName: 'ping' }).id}/x/callback`, body: { type: 99 }, auth: false });
    expect(errorCode(unknownType.body, ['type'])).toBe('BASE_TYPE_CHOICES');
    const missing = await call({ method: 'PUT', path: `/applications/${sim.appId}/commands`, body: [{ description: 'no name' }] });
    expect(errorsOf(missing.body)).toEqual({ '0': { name: { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] } } });
  });

  it('refuses what Discord refuses besides the schema: empty messages, invalid JSON, unknown objects, a wrong method', async () => {
    const ch = await general();
    expect(await call({ method: 'POST', path: `/channels/${ch}/messages`, body: { content: '' } })).toEqual({ status: 400, body: { message: 'Cannot send an empty message', code: 50006 } });
    const badJson = await fetch(`${sim.restUrl}/v10/channels/${ch}/messages`, { method: 'POST', headers: { Authorization: `Bot ${sim.token}`, 'Content-Type': 'application/json' }, body: '{"content": ' });
    expect(await badJson.json()).toEqual({ message: 'The request body contains invalid JSON.', code: 50109 });
    expect(await call({ method: 'GET', path: '/channels/400000000000000001' })).toEqual({ status: 404, body: { message: 'Unknown Channel', code: 10003 } });
    expect(await call({ method: 'GET', path: '/guilds/400000000000000001' })).toEqual({ status: 404, body: { message: 'Unknown Guild', code: 10004 } });
    expect((await call({ method: 'DELETE', path: '/users/@me' })).status).toBe(405);
    const dup = await call({
      method: 'PUT',
      path: `/applications/${sim.appId}/commands`,
      body: [
        { name: 'a', description: 'x' },
        { name: 'a', description: 'y' },
      ],
    });
    expect(errorCode(dup.body, [])).toBe('APPLICATION_COMMANDS_DUPLICATE_NAME');
  });

  it('fills responses with realistic values: snowflake times, ISO timestamps, the message type and flags', async () => {
    const before = Date.now();
    const m = (await call({ method: 'POST', path: `/channels/${await general()}/messages`, body: { content: 'hi' } })).body as APIMessage;
    expect(snowflakeTime(m.id)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(m.timestamp)).toBe(snowflakeTime(m.id));
    expect(m).toMatchObject({ type: 0, flags: 0, mentions: [], mention_roles: [], attachments: [], embeds: [], edited_timestamp: null, author: { id: sim.appId, bot: true } });
    // a deferred ephemeral answer is a loading message until its first edit
    const ix = sim.createInteraction({ commandName: 'slow' });
    const cb = (await call({ method: 'POST', path: `/interactions/${ix.id}/${ix.token}/callback`, query: 'with_response=true', body: { type: 5, data: { flags: 64 } }, auth: false })).body as RESTPostAPIInteractionCallbackWithResponseResult;
    expect(cb.interaction).toMatchObject({ id: ix.id, type: 2, response_message_loading: true, response_message_ephemeral: true });
    const edited = (await call({ method: 'PATCH', path: `/webhooks/${sim.appId}/${ix.token}/messages/@original`, body: { content: 'done' }, auth: false })).body as APIMessage;
    expect(edited).toMatchObject({ id: cb.interaction.response_message_id, type: 20, flags: 64, content: 'done', interaction_metadata: { id: ix.id, type: 2 } });
    const again = (await call({ method: 'PATCH', path: `/webhooks/${sim.appId}/${ix.token}/messages/@original`, body: { content: 'again' }, auth: false })).body as APIMessage;
    expect(Date.parse(again.edited_timestamp!)).toBeGreaterThanOrEqual(Date.parse(edited.timestamp));
    const cmds = (await call({ method: 'PUT', path: `/applications/${sim.appId}/commands`, body: [{ name: 'ping', description: 'Pong' }] })).body as APIApplicationCommand[];
    expect(cmds[0]).toMatchObject({ name: 'ping', type: 1, default_member_permissions: null, application_id: sim.appId });
  });
});

describe('the discord.js Client against the simulator', () => {
  it('logs in, sends a message and replies to an interaction; the returned objects have their fields', async () => {
    const { Client, GatewayIntentBits: I, Events } = await import('discord.js');
    const client = new Client({ intents: [I.Guilds, I.GuildMembers], rest: { api: sim.restUrl } });
    const first = sim.requests.length;
    try {
      const ready = new Promise<void>((r) => client.once(Events.ClientReady, () => r()));
      await client.login(sim.token);
      await ready;
      await until(() => client.guilds.cache.size === 2 && client.guilds.cache.every((x) => x.available), '2 available guilds');

      const app = await client.application!.fetch();
      expect(app.name).toBe('Simulated App');
      const channel = await client.channels.fetch(await general(), { force: true });
      if (!channel?.isSendable()) throw new Error('GET /channels/{id} did not give discord.js a text channel');
      const before = Date.now();
      const msg = await channel.send('hello');
      expect(msg.createdTimestamp).toBeGreaterThanOrEqual(before);
      expect(msg.createdTimestamp).toBe(snowflakeTime(msg.id));
      expect(msg.type).toBe(MessageType.Default);
      expect(msg.author.id).toBe(sim.appId);
      expect(msg.author.bot).toBe(true);
      expect(msg.content).toBe('hello');
      expect(msg.editedTimestamp).toBeNull();
      const member = await client.guilds.cache.get(g())!.members.fetch('600000000000000001');
      expect(member.joinedTimestamp).toBeGreaterThan(0);

      const replied = new Promise<{ reply: unknown; edited: unknown; followUp: unknown }>((resolve, reject) => {
        client.once(Events.InteractionCreate, (i) => {
          if (!i.isChatInputCommand()) {
            reject(new Error(`expected a chat input command, got type ${i.type}`));
            return;
          }
          void (async () => {
            const res = await i.reply({ content: 'Pong!', withResponse: true });
            const edited = await i.editReply('Pong! (edited)');
            const followUp = await i.followUp('one more');
            resolve({ reply: res.resource?.message, edited, followUp });
          })().catch(reject);
        });
      });
      const ix = sim.createInteraction({ commandName: 'ping', guildId: g() });
      const { reply, edited, followUp } = (await replied) as Record<string, import('discord.js').Message>;
      for (const m of [reply!, edited!, followUp!]) {
        expect(m.createdTimestamp).toBe(snowflakeTime(m.id));
        expect(m.createdTimestamp).toBeGreaterThanOrEqual(ix.createdAt);
        expect(m.type).toBe(MessageType.ChatInputCommand);
        expect(m.author.id).toBe(sim.appId);
      }
      expect(reply!.content).toBe('Pong!');
      expect(edited!.id).toBe(reply!.id);
      expect(edited!.content).toBe('Pong! (edited)');
      expect(edited!.editedTimestamp).toBeGreaterThanOrEqual(reply!.createdTimestamp);
      expect(followUp!.content).toBe('one more');
      expect(sim.interactionResponses(ix.id)?.callback?.type).toBe(4);
      // every request discord.js made passed the spec's validation
      const mine = sim.requests.slice(first).filter((r) => r.status >= 400);
      expect(mine.map((r) => `${r.method} ${r.path} ${r.status} ${r.code}`)).toEqual([]);
    } finally {
      await client.destroy();
    }
  });
});

/** The keys a type requires, so a list of them can be checked complete at compile time. */
type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
/** `keys` must name every required key of T (a missing one fails type-checking). */
const required =
  <T>() =>
  <const K extends readonly RequiredKeys<T>[]>(keys: K & ([Exclude<RequiredKeys<T>, K[number]>] extends [never] ? unknown : { missing: Exclude<RequiredKeys<T>, K[number]> })) =>
    keys as readonly string[];

const USER = required<APIUser>()(['id', 'username', 'discriminator', 'global_name', 'avatar']);
const MEMBER = required<APIGuildMember>()(['user', 'roles', 'joined_at', 'deaf', 'mute', 'flags']);
const SHAPES: Record<string, readonly string[]> = {
  READY: required<GatewayReadyDispatchData>()(['v', 'user', 'guilds', 'session_id', 'resume_gateway_url', 'application']),
  GUILD_CREATE: required<GatewayGuildCreateDispatchData>()([
    'id',
    'name',
    'icon',
    'splash',
    'discovery_splash',
    'owner_id',
    'afk_channel_id',
    'afk_timeout',
    'verification_level',
    'default_message_notifications',
    'explicit_content_filter',
    'roles',
    'emojis',
    'features',
    'mfa_level',
    'application_id',
    'system_channel_id',
    'system_channel_flags',
    'rules_channel_id',
    'vanity_url_code',
    'description',
    'banner',
    'premium_tier',
    'preferred_locale',
    'public_updates_channel_id',
    'nsfw_level',
    'premium_progress_bar_enabled',
    'hub_type',
    'safety_alerts_channel_id',
    'incidents_data',
    'joined_at',
    'large',
    'member_count',
    'voice_states',
    'members',
    'channels',
    'threads',
    'presences',
    'stage_instances',
    'guild_scheduled_events',
    'soundboard_sounds',
  ]),
  GUILD_MEMBER_ADD: required<GatewayGuildMemberAddDispatchData>()(['guild_id', 'user', 'roles', 'joined_at', 'deaf', 'mute', 'flags']),
  GUILD_MEMBER_UPDATE: required<GatewayGuildMemberUpdateDispatchData>()(['guild_id', 'roles', 'user', 'avatar', 'banner', 'joined_at']),
  GUILD_MEMBER_REMOVE: required<GatewayGuildMemberRemoveDispatchData>()(['guild_id', 'user']),
  // a slash command in a guild, which is what createInteraction sends
  INTERACTION_CREATE: required<APIChatInputApplicationCommandGuildInteraction>()([
    'id',
    'application_id',
    'type',
    'token',
    'version',
    'app_permissions',
    'entitlements',
    'authorizing_integration_owners',
    'attachment_size_limit',
    'data',
    'channel',
    'channel_id',
    'guild_id',
    'member',
    'locale',
  ]),
};

describe('gateway dispatches against discord-api-types', () => {
  it('sends READY, GUILD_CREATE, GUILD_MEMBER_* and INTERACTION_CREATE with every field their types require', async () => {
    const { manager, dispatches, destroy } = connectManager(sim);
    try {
      await manager.connect();
      await until(() => dispatches.filter((d) => d.t === GatewayDispatchEvents.GuildCreate).length === 2, 'GUILD_CREATE for both guilds');
      const u = '610000000000000001';
      sim.dispatch('GUILD_MEMBER_ADD', sim.memberPayload(g(), u));
      // one of each type for sure: a random mix of 6 leaves one type out once in 32 runs
      await sim.traffic({ count: 1, mix: { GUILD_MEMBER_UPDATE: 1 }, guildIds: [g()] });
      await sim.traffic({ count: 1, mix: { GUILD_MEMBER_REMOVE: 1 }, guildIds: [g()] });
      sim.createInteraction({ commandName: 'ping', guildId: g() });
      await until(() => Object.keys(SHAPES).every((t) => new Set<string>(dispatches.map((d) => d.t)).has(t)), `one of each of ${Object.keys(SHAPES).join(', ')}`);
      for (const d of dispatches) {
        const keys = SHAPES[d.t];
        if (!keys) continue;
        const data = d.d as Record<string, unknown>;
        expect(
          keys.filter((k) => !(k in data)),
          `${d.t} lacks`,
        ).toEqual([]);
        const user = (data.user ?? (data.member as { user?: unknown } | undefined)?.user) as Record<string, unknown> | undefined;
        if (user)
          expect(
            USER.filter((k) => !(k in user)),
            `${d.t} user lacks`,
          ).toEqual([]);
        if (d.t === GatewayDispatchEvents.GuildMemberAdd || d.t === GatewayDispatchEvents.InteractionCreate)
          expect(
            MEMBER.filter((k) => !(k in ((d.t === GatewayDispatchEvents.GuildMemberAdd ? data : data.member) as object))),
            `${d.t} member lacks`,
          ).toEqual([]);
        if (d.t === GatewayDispatchEvents.GuildCreate) {
          const guild = data as unknown as GatewayGuildCreateDispatchData;
          // the objects GUILD_CREATE shares with REST are held to the spec's response schemas too
          for (const r of guild.roles) expect(conforms(schema(spec, 'GuildRoleResponseSchema'), r)).toEqual([]);
          for (const c of guild.channels) expect(conforms(schema(spec, 'GuildChannelResponseSchema'), c)).toEqual([]);
          expect(Date.parse(guild.joined_at)).toBe(snowflakeTime(guild.id));
        }
      }
    } finally {
      await destroy();
    }
  });
});
