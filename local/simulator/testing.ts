/**
 * Helpers for tests that drive the real `@discordjs/ws` against the simulator.
 */
import { REST } from '@discordjs/rest';
import { CompressionMethod, WebSocketManager, WebSocketShardEvents, type OptionalWebSocketManagerOptions, type SessionInfo } from '@discordjs/ws';
import { GatewayDispatchEvents, GatewayIntentBits, type GatewayDispatchPayload } from 'discord-api-types/v10';
import type { DiscordSimulator } from '.';

export type ReceivedDispatch = GatewayDispatchPayload & { shardId: number; sessionId: string };

/**
 * A WebSocketManager pointed at the simulator only through `@discordjs/rest`'s `api` option, over
 * zlib-stream, with session info kept in memory and the simulator's short identify window. Every
 * dispatch it receives is in `dispatches`, tagged with the shard and the session it came from.
 */
export function connectManager(sim: DiscordSimulator, opts: Partial<OptionalWebSocketManagerOptions> & { token?: string; intents?: GatewayIntentBits | 0 } = {}) {
  const rest = new REST({ api: sim.restUrl }).setToken(opts.token ?? sim.token);
  const sessions = new Map<number, SessionInfo | null>();
  const manager = new WebSocketManager({
    token: sim.token,
    intents: GatewayIntentBits.Guilds | GatewayIntentBits.GuildMembers,
    rest,
    compression: CompressionMethod.ZlibNative,
    retrieveSessionInfo: (id) => sessions.get(id) ?? null,
    updateSessionInfo: (id, info) => void sessions.set(id, info),
    buildIdentifyThrottler: () => Promise.resolve(sim.identifyThrottler()),
    ...opts,
  });
  const dispatches: ReceivedDispatch[] = [];
  const sessionOf = new Map<number, string>();
  manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
    if (payload.t === GatewayDispatchEvents.Ready) sessionOf.set(shardId, payload.d.session_id);
    dispatches.push({ ...payload, shardId, sessionId: sessionOf.get(shardId) ?? '' });
  });
  return { manager, dispatches, sessions, rest, destroy: () => Promise.resolve(manager.destroy({ code: 4900 })).catch(() => undefined) };
}

/** Polls `cond` every 20 ms; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
