/**
 * The gateway commands a client sends after IDENTIFY, as Discord reads them
 * (https://discord.com/developers/docs/events/gateway-events#send-events): op 3 Update Presence, op 4
 * Update Voice State, op 8 Request Guild Members, op 31 Request Soundboard Sounds. The pure parts: the
 * payload schemas and the paging of a member request into GUILD_MEMBERS_CHUNK dispatches.
 *
 * A payload whose fields do not match is closed with 4001: Discord's close code table says 4001 is
 * "an invalid Gateway opcode or an invalid payload for an opcode"; 4002 is for what cannot be decoded
 * at all (https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-gateway-close-event-codes).
 * Unknown fields are ignored, as everywhere in Discord's API.
 */
import {
  ActivityType,
  GatewayOpcodes,
  PresenceUpdateStatus,
  type APIGuildMember,
  type GatewayGuildMembersChunkDispatchData,
  type GatewayGuildMembersChunkPresence,
  type GatewayPresenceUpdateData,
  type GatewayRequestSoundboardSoundsData,
  type GatewayVoiceStateUpdateData,
} from 'discord-api-types/v10';
import { z } from 'zod';

/** Members per GUILD_MEMBERS_CHUNK: "up to 1000 members per chunk". */
export const MEMBERS_PER_CHUNK = 1000;
/** "Requesting a prefix (query parameter) will return a maximum of 100 members"; user_ids likewise. */
export const MAX_QUERY_MEMBERS = 100;
export const MAX_USER_ID_MEMBERS = 100;
/** "Nonce can only be up to 32 bytes. If you send an invalid nonce it will be ignored." */
export const MAX_NONCE_BYTES = 32;

const snowflake = z.string().regex(/^\d{1,20}$/);

const activity = z.object({
  name: z.string(),
  type: z.enum(ActivityType),
  url: z.string().nullish(),
  state: z.string().nullish(),
});

export const presenceUpdateSchema = z.object({
  since: z.number().int().nullable(),
  activities: z.array(activity),
  status: z.enum(PresenceUpdateStatus),
  afk: z.boolean(),
});

export const voiceStateUpdateSchema = z.object({
  guild_id: snowflake,
  channel_id: snowflake.nullable(),
  self_mute: z.boolean(),
  self_deaf: z.boolean(),
});

export const requestGuildMembersSchema = z
  .object({
    guild_id: snowflake,
    query: z.string().optional(),
    limit: z.number().int().nonnegative().optional(),
    presences: z.boolean().optional(),
    user_ids: z.union([snowflake, z.array(snowflake)]).optional(),
    // an invalid nonce is ignored, not refused: kept as sent here, dropped by `memberChunks`
    nonce: z.unknown().optional(),
  })
  // "one of query or user_ids"; limit "true when specifying query"
  .refine((d) => d.query !== undefined || d.user_ids !== undefined, { error: 'one of query or user_ids is required' })
  .refine((d) => d.query === undefined || d.limit !== undefined, { error: 'limit is required with query', path: ['limit'] });

export const requestSoundboardSoundsSchema = z.object({ guild_ids: z.array(snowflake) });

export type RequestGuildMembers = z.infer<typeof requestGuildMembersSchema>;

export type GatewayCommand =
  | { op: GatewayOpcodes.PresenceUpdate; d: GatewayPresenceUpdateData }
  | { op: GatewayOpcodes.VoiceStateUpdate; d: GatewayVoiceStateUpdateData }
  | { op: GatewayOpcodes.RequestGuildMembers; d: RequestGuildMembers }
  | { op: GatewayOpcodes.RequestSoundboardSounds; d: GatewayRequestSoundboardSoundsData };

export type CommandOpcode = GatewayCommand['op'];

const COMMAND_OPCODES: ReadonlySet<number> = new Set<CommandOpcode>([GatewayOpcodes.PresenceUpdate, GatewayOpcodes.VoiceStateUpdate, GatewayOpcodes.RequestGuildMembers, GatewayOpcodes.RequestSoundboardSounds]);

/** Whether `op` is one of the four commands (op 3, 4, 8, 31). */
export const isCommandOpcode = (op: number): op is CommandOpcode => COMMAND_OPCODES.has(op);

export type ParsedCommand = { ok: true; command: GatewayCommand } | { ok: false; error: string };

/** The command's payload checked against its schema; `error` names the first bad field. */
export function parseCommand(op: CommandOpcode, d: unknown): ParsedCommand {
  switch (op) {
    case GatewayOpcodes.PresenceUpdate:
      return parsed(presenceUpdateSchema.safeParse(d), (data) => ({ op, d: data }));
    case GatewayOpcodes.VoiceStateUpdate:
      return parsed(voiceStateUpdateSchema.safeParse(d), (data) => ({ op, d: data }));
    case GatewayOpcodes.RequestGuildMembers:
      return parsed(requestGuildMembersSchema.safeParse(d), (data) => ({ op, d: data }));
    case GatewayOpcodes.RequestSoundboardSounds:
      return parsed(requestSoundboardSoundsSchema.safeParse(d), (data) => ({ op, d: data }));
  }
}

function parsed<T>(r: { success: true; data: T } | { success: false; error: z.ZodError }, command: (data: T) => GatewayCommand): ParsedCommand {
  if (r.success) return { ok: true, command: command(r.data) };
  const first = r.error.issues[0];
  return { ok: false, error: first ? `${['d', ...first.path.map(String)].join('.')}: ${first.message}` : 'invalid payload' };
}

/** A guild's member as the simulator keeps it: enough to match a request without building the object. */
export interface RosterEntry {
  userId: string;
  username: string;
}

/** Which members a Request Guild Members asks for, as Discord selects them. */
export interface MemberSelection {
  /** roster indexes, in roster order (query) or request order (user_ids) */
  indexes: number[];
  /** requested user ids that are not members */
  notFound: string[];
}

/**
 * The members a request selects. `query`: usernames starting with it (case-insensitive), at most
 * `limit` (0 = no limit) and at most 100 for a non-empty prefix; an empty query with limit 0 is every
 * member. `user_ids`: those members, at most 100, the others in `notFound`.
 */
export function selectMembers(roster: readonly RosterEntry[], req: Pick<RequestGuildMembers, 'query' | 'limit' | 'user_ids'>): MemberSelection {
  if (req.user_ids !== undefined) {
    const ids = (typeof req.user_ids === 'string' ? [req.user_ids] : req.user_ids).slice(0, MAX_USER_ID_MEMBERS);
    const at = new Map(roster.map((m, i) => [m.userId, i]));
    const indexes: number[] = [];
    const notFound: string[] = [];
    for (const id of new Set(ids)) {
      const i = at.get(id);
      if (i === undefined) notFound.push(id);
      else indexes.push(i);
    }
    return { indexes, notFound };
  }
  const query = (req.query ?? '').toLowerCase();
  let max = req.limit === undefined || req.limit === 0 ? Infinity : req.limit;
  if (query !== '') max = Math.min(max, MAX_QUERY_MEMBERS);
  const indexes: number[] = [];
  for (let i = 0; i < roster.length && indexes.length < max; i++) {
    if (roster[i]?.username.toLowerCase().startsWith(query)) indexes.push(i);
  }
  return { indexes, notFound: [] };
}

/** Whether Discord keeps the nonce: a string of at most 32 bytes (otherwise the chunks carry none). */
export const validNonce = (nonce: unknown): nonce is string => typeof nonce === 'string' && Buffer.byteLength(nonce, 'utf8') <= MAX_NONCE_BYTES;

/**
 * The GUILD_MEMBERS_CHUNK payloads for a selection: 1000 members a chunk, `chunk_index` /
 * `chunk_count`, the nonce on every chunk, `not_found` on the first, and each chunk's presences when
 * `presenceOf` is given (members it returns undefined for are offline and left out, as Discord does).
 */
export function memberChunks(guildId: string, members: readonly APIGuildMember[], opts: { notFound?: readonly string[]; nonce?: unknown; presenceOf?: (m: APIGuildMember) => GatewayGuildMembersChunkPresence | undefined } = {}): GatewayGuildMembersChunkDispatchData[] {
  const count = Math.max(1, Math.ceil(members.length / MEMBERS_PER_CHUNK));
  const nonce = validNonce(opts.nonce) ? opts.nonce : undefined;
  const { presenceOf } = opts;
  return Array.from({ length: count }, (_, i) => {
    const part = members.slice(i * MEMBERS_PER_CHUNK, (i + 1) * MEMBERS_PER_CHUNK);
    const chunk: GatewayGuildMembersChunkDispatchData = { guild_id: guildId, members: part, chunk_index: i, chunk_count: count };
    if (i === 0 && opts.notFound && opts.notFound.length > 0) chunk.not_found = [...opts.notFound];
    if (presenceOf) chunk.presences = part.flatMap((m) => presenceOf(m) ?? []);
    if (nonce !== undefined) chunk.nonce = nonce;
    return chunk;
  });
}
