/**
 * Events replayed from the bus's archive (`npm run replay`). EventBridge delivers a replayed event
 * like the original with one more top-level field, `replay-name`
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-replay-archived-event.html), and the
 * envelope inside is unchanged, so its id is the original's.
 *
 * The replay's name says what the workers do with it:
 * - `gp-fill-...` (the default): the workers' dedupe applies as for any redelivery, so only events no
 *   worker ever applied are handled (a replay fills gaps);
 * - `gp-reprocess-...` (`--reprocess`): the event's idempotency record is deleted first, so the handler
 *   runs again by design (after a handler bug). Ordering guards still hold: an old event does not
 *   overwrite newer state. Interactions are never answered twice either way: their token and
 *   Discord's 3 s window are long gone, and the worker drops them as expired.
 * - `--types T1,T2`: EventBridge replays by rule, and one tier's rule carries several types, so the
 *   name carries the chosen types as a bit mask over Discord's dispatch names (sorted; the script and
 *   the workers come from the same release), and a worker skips replayed events of other types
 *   (outcome `replay-skipped`). Names: `gp-<fill|reprocess>-<mask hex or all>-<yyyymmddhhmmss>`
 *   (EventBridge allows 64 characters).
 */
import type { Pool } from 'pg';
import type { Envelope } from '../../lib/contract';
import { DISPATCH_TYPES } from '../../lib/contract/dispatch';
import { withGuild } from './db';

export const FILL_REPLAY_PREFIX = 'gp-fill-';
export const REPROCESS_REPLAY_PREFIX = 'gp-reprocess-';

export interface ReplayInfo {
  name: string;
  reprocess: boolean;
  /** the types the replay is for; undefined: all */
  types?: ReadonlySet<string>;
}

const ORDERED_TYPES = [...DISPATCH_TYPES].sort();

/** The replay's name for `npm run replay`: kind, types and start time (UTC). */
export function replayName(reprocess: boolean, types: readonly string[] | undefined, at: Date = new Date()): string {
  let mask = 'all';
  if (types?.length) {
    let bits = 0n;
    for (const t of types) {
      const i = (ORDERED_TYPES as readonly string[]).indexOf(t);
      if (i < 0) throw new Error(`${t} is not a Discord dispatch type (e.g. GUILD_MEMBER_ADD)`);
      bits |= 1n << BigInt(i);
    }
    mask = bits.toString(16);
  }
  const stamp = at.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${reprocess ? REPROCESS_REPLAY_PREFIX : FILL_REPLAY_PREFIX}${mask}-${stamp}`;
}

function typesOf(name: string): ReadonlySet<string> | undefined {
  const m = /^gp-(?:fill|reprocess)-([0-9a-f]+)-\d{14}$/.exec(name);
  if (!m) return undefined;
  const bits = BigInt(`0x${m[1]}`);
  return new Set(ORDERED_TYPES.filter((_, i) => (bits >> BigInt(i)) & 1n));
}

/** The replay an SQS body (an EventBridge event) came from, or undefined for a live event. */
export function replayOf(body: string): ReplayInfo | undefined {
  let name: unknown;
  try {
    name = (JSON.parse(body) as Record<string, unknown>)['replay-name'];
  } catch {
    return undefined;
  }
  if (typeof name !== 'string' || !name) return undefined;
  const types = typesOf(name);
  return { name, reprocess: name.startsWith(REPROCESS_REPLAY_PREFIX), ...(types ? { types } : {}) };
}

/** Deletes the event's idempotency record (processed_events) under its guild's RLS scope. */
export async function forgetProcessed(pool: Pool, env: Envelope): Promise<number> {
  if (!env.guildId) return 0;
  return withGuild(pool, env.guildId, async (c) => (await c.query('DELETE FROM processed_events WHERE guild_id = $1 AND event_id = $2', [env.guildId, env.id])).rowCount ?? 0);
}
