/**
 * The REST routes the simulator serves, each tied to its path in Discord's OpenAPI spec: the request
 * (path parameters, query, body) is validated against the spec before the handler runs, and a
 * violation is answered as Discord answers it (400, code 50035, the `errors` tree naming the field).
 * Responses are built by ./objects to the spec's response schema, named here so tests can check them.
 */
import type { ApplicationCommandUpdateRequest, GatewayBotResponse, GuildChannelResponse, MessageResponse, Paths, UserResponse } from 'discord-api-spec';
import * as z from 'zod/mini';
import type { ZodMiniType } from 'zod/mini';
import { snowflakeTime } from '../snowflake';
import { fieldIssues, formError, HttpError, type FieldIssue } from './errors';
import * as obj from './objects';
import { INTERACTION_APPLICATION_COMMAND, MESSAGE_CHAT_INPUT_COMMAND } from './spec-enums';
import { schema, type SpecSchemas } from './spec';

export type RouteName =
  | 'gateway_bot'
  | 'current_user'
  | 'current_application'
  | 'guild'
  | 'guild_member'
  | 'channel'
  | 'interaction_callback'
  | 'webhook_original_get'
  | 'webhook_original_edit'
  | 'webhook_followup'
  | 'member_role_add'
  | 'member_role_remove'
  | 'commands_overwrite'
  | 'channel_message';

/** What the routes need from the simulator. */
export interface RestHost {
  readonly appId: string;
  /** the bodies of the last bulk overwrite */
  readonly commands: unknown[];
  gatewayBot(): GatewayBotResponse;
  guildShape(id: string): obj.GuildShape | undefined;
  channel(id: string): GuildChannelResponse | undefined;
  interaction(id: string): RestInteraction | undefined;
  interactionByToken(token: string): RestInteraction | undefined;
  snowflake(at?: number): string;
  readonly interactionWindowMs: number;
  readonly interactionTokenTtlMs: number;
}

/** The part of a simulated interaction the routes read and write (see SimInteraction). */
export interface RestInteraction {
  id: string;
  token: string;
  createdAt: number;
  guildId: string;
  channelId: string;
  userId: string;
  commandName: string;
  callback?: { type: number; data?: unknown; at: number };
  messages: Array<{ kind: 'edit' | 'followup'; body: unknown; at: number }>;
  /** the interaction's @original message, once the callback created it */
  original?: MessageResponse;
}

export interface RouteRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  /** the parsed JSON body, validated against the route's request schema */
  body: unknown;
  at: number;
}

export interface RouteReply {
  status: number;
  body?: unknown;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type QueryType = 'boolean' | 'snowflake';

export interface RouteDef {
  name: RouteName;
  method: Method;
  /** the path as the spec writes it */
  path: keyof Paths;
  /** `bot`: Authorization: Bot <token>; `token`: the interaction token in the path authorizes */
  auth: 'bot' | 'token';
  /** the bucket's major parameter */
  major(p: Record<string, string>): string;
  /** the spec's query parameters of this route (others are ignored, as Discord does) */
  query?: Record<string, QueryType>;
  /** the spec's request body schema */
  body?(s: SpecSchemas): ZodMiniType;
  /** the spec's schema of the 200 response; none for routes that answer 204 */
  response?(s: SpecSchemas): ZodMiniType;
  handle(host: RestHost, req: RouteRequest): RouteReply;
}

const LOADING = 1 << 7;
const EPHEMERAL = 1 << 6;

/** Discord refuses a message with nothing in it. */
function notEmpty(b: { content?: unknown; embeds?: unknown; components?: unknown; sticker_ids?: unknown; poll?: unknown; attachments?: unknown } | undefined): void {
  const has = (v: unknown) => (Array.isArray(v) ? v.length > 0 : v !== undefined && v !== null && v !== '');
  if (!b || ![b.content, b.embeds, b.components, b.sticker_ids, b.poll, b.attachments].some(has)) throw new HttpError(400, 50006, 'Cannot send an empty message');
}

const simUser = (id: string): UserResponse => obj.user(id, `user${id.slice(-6)}`);

/** A path parameter the route's pattern captures; missing means the route table is wrong (a 500). */
function param(p: Record<string, string>, name: string): string {
  const v = p[name];
  if (v === undefined) throw new Error(`route parameter ${name} was not captured`);
  return v;
}

/** The interaction-token checks every webhook route shares. */
function tokenInteraction(host: RestHost, p: Record<string, string>, at: number): RestInteraction {
  const ix = host.interactionByToken(param(p, 'webhook_token'));
  if (p.webhook_id !== host.appId || !ix) throw new HttpError(404, 10015, 'Unknown Webhook');
  if (at - ix.createdAt > host.interactionTokenTtlMs) throw new HttpError(401, 50027, 'Invalid Webhook Token');
  return ix;
}

/** A message the interaction's webhook posts: type 20 (chat input command), with the interaction's metadata. */
function interactionMessage(host: RestHost, ix: RestInteraction, id: string, fields: obj.MessageFields, flags: number): MessageResponse {
  const u = simUser(ix.userId);
  return obj.message(
    id,
    ix.channelId,
    obj.botUser(host.appId),
    { ...fields, flags },
    {
      type: MESSAGE_CHAT_INPUT_COMMAND,
      application_id: host.appId,
      webhook_id: host.appId,
      interaction: { id: ix.id, type: INTERACTION_APPLICATION_COMMAND, name: ix.commandName, user: u },
      interaction_metadata: { id: ix.id, type: INTERACTION_APPLICATION_COMMAND, user: u, authorizing_integration_owners: { '0': ix.guildId } },
    },
  );
}

const messageResponse = (s: SpecSchemas) => schema(s, 'MessageResponseSchema');

export const ROUTES: readonly RouteDef[] = [
  {
    name: 'gateway_bot',
    method: 'GET',
    path: '/gateway/bot',
    auth: 'bot',
    major: () => '',
    response: (s) => schema(s, 'GatewayBotResponseSchema'),
    handle: (host) => ({ status: 200, body: host.gatewayBot() }),
  },
  {
    name: 'current_user',
    method: 'GET',
    path: '/users/@me',
    auth: 'bot',
    major: () => '',
    response: (s) => schema(s, 'UserPIIResponseSchema'),
    handle: (host) => ({ status: 200, body: obj.currentUser(host.appId) }),
  },
  {
    name: 'current_application',
    method: 'GET',
    path: '/applications/@me',
    auth: 'bot',
    major: () => '',
    response: (s) => schema(s, 'PrivateApplicationResponseSchema'),
    handle: (host) => ({ status: 200, body: obj.application(host.appId) }),
  },
  {
    name: 'guild',
    method: 'GET',
    path: '/guilds/{guild_id}',
    auth: 'bot',
    major: (p) => param(p, 'guild_id'),
    query: { with_counts: 'boolean' },
    response: (s) => schema(s, 'GuildWithCountsResponseSchema'),
    handle: (host, { params, query }) => {
      const g = host.guildShape(param(params, 'guild_id'));
      if (!g) throw new HttpError(404, 10004, 'Unknown Guild');
      return { status: 200, body: obj.guild(g, bool(query.get('with_counts'))) };
    },
  },
  {
    name: 'guild_member',
    method: 'GET',
    path: '/guilds/{guild_id}/members/{user_id}',
    auth: 'bot',
    major: (p) => param(p, 'guild_id'),
    response: (s) => schema(s, 'GuildMemberResponseSchema'),
    handle: (host, { params }) => {
      const g = host.guildShape(param(params, 'guild_id'));
      if (!g) throw new HttpError(404, 10004, 'Unknown Guild');
      const id = param(params, 'user_id');
      // membership is not tracked: every user is a member, joined when both it and the guild existed
      const u = id === host.appId ? obj.botUser(id) : simUser(id);
      return { status: 200, body: obj.member(u, Math.max(snowflakeTime(g.id), snowflakeTime(id))) };
    },
  },
  {
    name: 'channel',
    method: 'GET',
    path: '/channels/{channel_id}',
    auth: 'bot',
    major: (p) => param(p, 'channel_id'),
    response: (s) => z.union([schema(s, 'GuildChannelResponseSchema'), schema(s, 'PrivateChannelResponseSchema'), schema(s, 'PrivateGroupChannelResponseSchema'), schema(s, 'ThreadResponseSchema')]),
    handle: (host, { params }) => {
      const c = host.channel(param(params, 'channel_id'));
      if (!c) throw new HttpError(404, 10003, 'Unknown Channel');
      return { status: 200, body: c };
    },
  },
  {
    name: 'channel_message',
    method: 'POST',
    path: '/channels/{channel_id}/messages',
    auth: 'bot',
    major: (p) => param(p, 'channel_id'),
    body: (s) => schema(s, 'MessageCreateRequestSchema'),
    response: messageResponse,
    handle: (host, { params, body, at }) => {
      const b = body as obj.MessageFields;
      notEmpty(b);
      // any channel id is accepted here (sends are not checked against the guilds' channels)
      return { status: 200, body: obj.message(host.snowflake(at), param(params, 'channel_id'), obj.botUser(host.appId), b) };
    },
  },
  {
    name: 'commands_overwrite',
    method: 'PUT',
    path: '/applications/{application_id}/commands',
    auth: 'bot',
    major: (p) => param(p, 'application_id'),
    body: (s) => z.array(schema(s, 'ApplicationCommandUpdateRequestSchema')),
    response: (s) => z.array(schema(s, 'ApplicationCommandResponseSchema')),
    handle: (host, { params, body, at }) => {
      if (params.application_id !== host.appId) throw new HttpError(403, 50001, 'Missing Access');
      const cmds = body as ApplicationCommandUpdateRequest[];
      const seen = new Set<string>();
      for (const c of cmds) {
        const key = `${c.type ?? 1}:${c.name}`;
        if (seen.has(key)) throw formError([{ path: [], error: { code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: `Application command names must be unique (${c.name})` } }]);
        seen.add(key);
      }
      host.commands.splice(0, host.commands.length, ...cmds);
      return { status: 200, body: cmds.map((c) => obj.command(host.snowflake(at), host.appId, c)) };
    },
  },
  ...(['PUT', 'DELETE'] as const).map((method): RouteDef => ({
    name: method === 'PUT' ? 'member_role_add' : 'member_role_remove',
    method,
    path: '/guilds/{guild_id}/members/{user_id}/roles/{role_id}',
    auth: 'bot',
    major: (p) => param(p, 'guild_id'),
    handle: (host, { params }) => {
      if (!host.guildShape(param(params, 'guild_id'))) throw new HttpError(404, 10004, 'Unknown Guild');
      return { status: 204 };
    },
  })),
  {
    name: 'interaction_callback',
    method: 'POST',
    path: '/interactions/{interaction_id}/{interaction_token}/callback',
    auth: 'token',
    major: (p) => param(p, 'interaction_id'),
    query: { with_response: 'boolean' },
    body: (s) =>
      z.union(
        [
          'ApplicationCommandAutocompleteCallbackRequestSchema',
          'CreateMessageInteractionCallbackRequestSchema',
          'LaunchActivityInteractionCallbackRequestSchema',
          'ModalInteractionCallbackRequestSchema',
          'PongInteractionCallbackRequestSchema',
          'SocialLayerSKUPurchaseEligibilityInteractionCallbackRequestSchema',
          'UpdateMessageInteractionCallbackRequestSchema',
        ].map((n) => schema(s, n)),
      ),
    response: (s) => schema(s, 'InteractionCallbackResponseSchema'),
    handle: (host, { params, body, query, at }) => {
      const ix = host.interaction(param(params, 'interaction_id'));
      if (!ix || ix.token !== params.interaction_token) throw new HttpError(404, 10062, 'Unknown interaction');
      if (ix.callback) throw new HttpError(400, 40060, 'Interaction has already been acknowledged.');
      if (at - ix.createdAt > host.interactionWindowMs) throw new HttpError(404, 10062, 'Unknown interaction');
      const b = body as { type: number; data?: obj.MessageFields | null };
      if (b.type === 4) notEmpty(b.data ?? undefined);
      ix.callback = { type: b.type, data: b.data ?? undefined, at };
      if (b.type === 4 || b.type === 5) {
        const flags = ((b.data?.flags ?? 0) & EPHEMERAL) | (b.type === 5 ? LOADING : 0);
        ix.original = interactionMessage(host, ix, host.snowflake(at), b.type === 5 ? {} : (b.data ?? {}), flags);
      }
      if (!bool(query.get('with_response'))) return { status: 204 };
      const m = ix.original;
      return {
        status: 200,
        body: {
          interaction: {
            id: ix.id,
            type: 2,
            ...(m ? { response_message_id: m.id, response_message_loading: b.type === 5, response_message_ephemeral: (m.flags & EPHEMERAL) !== 0 } : {}),
          },
          // the spec's resources are the created (4) or updated (7) message and a launched activity (12)
          ...(b.type === 4 && m ? { resource: { type: 4, message: m } } : {}),
        },
      };
    },
  },
  {
    name: 'webhook_original_get',
    method: 'GET',
    path: '/webhooks/{webhook_id}/{webhook_token}/messages/@original',
    auth: 'token',
    major: (p) => `${p.webhook_id}/${p.webhook_token}`,
    query: { thread_id: 'snowflake' },
    response: messageResponse,
    handle: (host, { params, at }) => {
      const ix = tokenInteraction(host, params, at);
      if (!ix.original) throw new HttpError(404, 10008, 'Unknown Message');
      return { status: 200, body: ix.original };
    },
  },
  {
    name: 'webhook_original_edit',
    method: 'PATCH',
    path: '/webhooks/{webhook_id}/{webhook_token}/messages/@original',
    auth: 'token',
    major: (p) => `${p.webhook_id}/${p.webhook_token}`,
    query: { thread_id: 'snowflake', with_components: 'boolean' },
    body: (s) => schema(s, 'IncomingWebhookUpdateRequestPartialSchema'),
    response: messageResponse,
    handle: (host, { params, body, at }) => {
      const ix = tokenInteraction(host, params, at);
      // before the first callback there is no message to edit
      if (!ix.original) throw new HttpError(404, 10008, 'Unknown Message');
      ix.messages.push({ kind: 'edit', body, at });
      // a deferred response stops loading with its first edit (it was never shown as sent before)
      const wasLoading = (ix.original.flags & LOADING) !== 0;
      const next = obj.edited(ix.original, body as obj.MessageFields, at, ix.original.flags & ~LOADING);
      ix.original = wasLoading ? { ...next, edited_timestamp: null } : next;
      return { status: 200, body: ix.original };
    },
  },
  {
    name: 'webhook_followup',
    method: 'POST',
    path: '/webhooks/{webhook_id}/{webhook_token}',
    auth: 'token',
    major: (p) => `${p.webhook_id}/${p.webhook_token}`,
    query: { wait: 'boolean', thread_id: 'snowflake', with_components: 'boolean' },
    body: (s) => z.union([schema(s, 'IncomingWebhookRequestPartialSchema'), schema(s, 'IncomingWebhookUpdateRequestPartialSchema')]),
    response: messageResponse,
    handle: (host, { params, body, at }) => {
      const ix = tokenInteraction(host, params, at);
      // before the first callback there is no webhook message to follow up
      if (!ix.callback) throw new HttpError(404, 10015, 'Unknown Webhook');
      const b = body as obj.MessageFields;
      notEmpty(b);
      ix.messages.push({ kind: 'followup', body, at });
      // follow-ups always answer with the message (`wait` is always true for them)
      return { status: 200, body: interactionMessage(host, ix, host.snowflake(at), b, (b.flags ?? 0) & EPHEMERAL) };
    },
  },
];

/** Discord's reading of a boolean query value. */
function bool(v: string | null): boolean {
  return v !== null && /^(true|1)$/i.test(v);
}

const SNOWFLAKE = /^(0|[1-9]\d{0,19})$/;
const isSnowflake = (v: string) => SNOWFLAKE.test(v) && BigInt(v) < 1n << 64n;

interface Compiled {
  def: RouteDef;
  pattern: RegExp;
}

/** Matches requests to routes, validates them against the spec, and holds the compiled schemas. */
export class RestRouter {
  private readonly compiled: Compiled[];
  private readonly bodies = new Map<RouteDef, ZodMiniType>();

  constructor(spec: SpecSchemas, routes: readonly RouteDef[] = ROUTES) {
    this.compiled = routes.map((def) => ({ def, pattern: new RegExp(`^${def.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`) }));
    for (const def of routes) if (def.body) this.bodies.set(def, def.body(spec));
  }

  /** The route of `method path`; `undefined` when no route has the path, `'method'` when only the method is wrong. */
  match(method: string, path: string): { def: RouteDef; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const c of this.compiled) {
      const m = c.pattern.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (c.def.method === method) return { def: c.def, params: { ...m.groups } };
    }
    return pathMatched ? 'method' : undefined;
  }

  /** Path ids must be snowflakes (else 50035 naming the parameter); checked before rate limits, as Discord routes on them. */
  checkPath(params: Record<string, string>): void {
    const bad: FieldIssue[] = Object.entries(params)
      .filter(([k, v]) => k.endsWith('_id') && !isSnowflake(v))
      .map(([k, v]) => ({ path: [k], error: { code: 'NUMBER_TYPE_COERCE', message: `Value "${v}" is not snowflake.` } }));
    if (bad.length) throw formError(bad);
  }

  /** The query and body against the spec: throws Discord's 50035 with the field tree. */
  checkRequest(def: RouteDef, query: URLSearchParams, body: unknown): void {
    const issues: FieldIssue[] = [];
    for (const [k, type] of Object.entries(def.query ?? {})) {
      const v = query.get(k);
      if (v === null) continue;
      if (type === 'boolean' && !/^(true|false|1|0)$/i.test(v)) issues.push({ path: [k], error: { code: 'BOOLEAN_TYPE_CONVERT', message: `Could not interpret "${v}" as boolean.` } });
      if (type === 'snowflake' && !isSnowflake(v)) issues.push({ path: [k], error: { code: 'NUMBER_TYPE_COERCE', message: `Value "${v}" is not snowflake.` } });
    }
    const schema = this.bodies.get(def);
    if (schema) issues.push(...fieldIssues(schema, body));
    if (issues.length) throw formError(issues);
  }
}
