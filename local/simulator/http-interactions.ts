/**
 * The simulator's second way of delivering interactions: as Discord does to an Interactions Endpoint
 * URL, a POST of the interaction signed with the application's Ed25519 key (X-Signature-Ed25519 over
 * X-Signature-Timestamp + body), whose HTTP response is the interaction's first answer.
 * https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint
 *
 * - `verifyEndpoint()` is what Discord does when the URL is saved in the developer portal: a signed
 *   PING must get PONG, and a request with a bad signature must get 401, or the URL is refused.
 * - `createInteraction()` registers the interaction with the simulator (so the webhook routes know its
 *   token), POSTs it, and applies a 200 response as the interaction's callback through the simulator's
 *   own callback route (so the 3 s window, 40060 and the @original message behave as for a REST
 *   callback). That one internal request carries `x-simulator-source: http-interactions`.
 * - A response after Discord's 3 s is dropped, as Discord drops it ("the application did not respond").
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { DiscordSimulator, SimInteraction } from './index';
import { SnowflakeGenerator } from './snowflake';

/** Marks the simulator's own callback request that applies an HTTP response (filter it out when counting a worker's calls). */
export const HTTP_RESPONSE_HEADER = 'x-simulator-source';
export const HTTP_RESPONSE_SOURCE = 'http-interactions';

export interface TestKeyPair {
  /** 64 hex characters, as the developer portal shows it: give it to the endpoint */
  publicKeyHex: string;
  privateKey: KeyObject;
}

/** A fresh Ed25519 key pair standing in for the application's. */
export function testKeyPair(): TestKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  // the raw key is the last 32 bytes of the 44-byte SPKI DER
  return { publicKeyHex: publicKey.export({ format: 'der', type: 'spki' }).subarray(12).toString('hex'), privateKey };
}

/** The two headers Discord adds, for `body` signed now (or at `timestampS`). */
export function signatureHeaders(privateKey: KeyObject, body: string | Buffer, timestampS = Math.floor(Date.now() / 1000)): Record<string, string> {
  const ts = String(timestampS);
  const sig = sign(null, Buffer.concat([Buffer.from(ts), Buffer.isBuffer(body) ? body : Buffer.from(body)]), privateKey);
  return { 'x-signature-ed25519': sig.toString('hex'), 'x-signature-timestamp': ts };
}

export interface HttpDelivery {
  interactionId?: string;
  kind: 'interaction' | 'ping' | 'probe';
  status: number;
  /** the parsed JSON response, when it was JSON */
  response?: unknown;
  /** sent and answered, Unix ms */
  sentAt: number;
  answeredAt: number;
  /** answered after the window: Discord ignores the response */
  late: boolean;
}

export interface EndpointCheck {
  ok: boolean;
  problems: string[];
}

export interface HttpInteractionsOptions {
  /** the Interactions Endpoint URL */
  url: string;
  /** @default a fresh test key pair */
  keys?: TestKeyPair;
  /** how long Discord waits for the response @default 3000 */
  windowMs?: number;
}

export class HttpInteractions {
  readonly keys: TestKeyPair;
  readonly deliveries: HttpDelivery[] = [];
  /** ids of the interactions delivered over HTTP */
  readonly delivered = new Set<string>();
  url: string;
  private readonly windowMs: number;
  // worker id 2: never the same id as the simulator's own generator (worker 1) in the same ms
  private readonly snowflakes = new SnowflakeGenerator(2n);

  constructor(
    private readonly sim: DiscordSimulator,
    opts: HttpInteractionsOptions,
  ) {
    this.url = opts.url;
    this.keys = opts.keys ?? testKeyPair();
    this.windowMs = opts.windowMs ?? 3_000;
  }

  get publicKeyHex(): string {
    return this.keys.publicKeyHex;
  }

  /** POSTs `body` the way Discord does, signed with `key` (default the application's), `timestampS` (default now). */
  async post(body: string, opts: { key?: KeyObject; timestampS?: number; headers?: Record<string, string> } = {}): Promise<{ status: number; text: string; ms: number }> {
    const t0 = Date.now();
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'Discord-Interactions/1.0 (+https://discord.com)', ...signatureHeaders(opts.key ?? this.keys.privateKey, body, opts.timestampS), ...opts.headers },
      body,
      signal: AbortSignal.timeout(this.windowMs),
    });
    return { status: res.status, text: await res.text(), ms: Date.now() - t0 };
  }

  /**
   * What the developer portal does when the URL is saved: a signed PING must get 200 `{"type":1}`, and
   * a PING whose signature does not verify must get 401. Returns what failed, if anything.
   */
  async verifyEndpoint(): Promise<EndpointCheck> {
    const problems: string[] = [];
    const ping = JSON.stringify({ id: this.snowflakes.next(), application_id: this.sim.appId, type: 1, token: this.token(), version: 1 });
    const at = Date.now();
    try {
      const r = await this.post(ping);
      const body = parseJson(r.text);
      this.deliveries.push({ kind: 'ping', status: r.status, response: body, sentAt: at, answeredAt: Date.now(), late: false });
      if (r.status !== 200 || (body as { type?: unknown } | undefined)?.type !== 1) problems.push(`a signed PING got ${r.status} ${r.text.slice(0, 100)}, expected 200 {"type":1}`);
    } catch (err) {
      problems.push(`a signed PING failed: ${(err as Error).message}`);
    }
    // the probe: same PING, signed by a key that is not the application's
    try {
      const r = await this.post(ping, { key: testKeyPair().privateKey });
      this.deliveries.push({ kind: 'probe', status: r.status, response: parseJson(r.text), sentAt: at, answeredAt: Date.now(), late: false });
      if (r.status !== 401) problems.push(`a PING with an invalid signature got ${r.status}, expected 401 (Discord refuses endpoints that accept unsigned requests)`);
    } catch (err) {
      problems.push(`a PING with an invalid signature failed: ${(err as Error).message}`);
    }
    return { ok: problems.length === 0, problems };
  }

  /**
   * Creates a slash command interaction now and delivers it over HTTP. Resolves once the endpoint
   * answered (or the window passed) with the interaction, its HTTP status and response.
   */
  async createInteraction(opts: { guildId?: string; channelId?: string; userId?: string; commandName: string; options?: Array<{ name: string; type: number; value: unknown }> }): Promise<{ ix: SimInteraction; status: number; response?: unknown }> {
    const now = Date.now();
    const guildId = opts.guildId ?? this.sim.guildIds[0];
    if (guildId === undefined) throw new Error('createInteraction: the simulator has no guilds; start it with guilds > 0 or pass guildId');
    const ix: SimInteraction = {
      id: this.snowflakes.next(now),
      token: this.token(),
      createdAt: now,
      guildId,
      channelId: opts.channelId ?? this.snowflakes.next(now - 5_000_000),
      userId: opts.userId ?? this.snowflakes.next(now - 1_000_000),
      commandName: opts.commandName,
      messages: [],
    };
    this.register(ix);
    this.delivered.add(ix.id);
    const payload = {
      id: ix.id,
      application_id: this.sim.appId,
      type: 2,
      token: ix.token,
      version: 1,
      guild_id: guildId,
      channel_id: ix.channelId,
      channel: { id: ix.channelId, type: 0 },
      member: { user: { id: ix.userId, username: `user${ix.userId.slice(-4)}`, discriminator: '0', global_name: null, avatar: null }, roles: [], permissions: '0', joined_at: new Date(now).toISOString(), deaf: false, mute: false, flags: 0 },
      data: { id: this.snowflakes.next(now), name: opts.commandName, type: 1, options: opts.options ?? [] },
      locale: 'en-US',
      guild_locale: 'en-US',
      app_permissions: '0',
      entitlements: [],
      authorizing_integration_owners: { '0': guildId },
      context: 0,
      attachment_size_limit: 8_388_608,
    };
    let status: number;
    let response: unknown;
    try {
      const r = await this.post(JSON.stringify(payload));
      status = r.status;
      response = parseJson(r.text);
    } catch {
      // aborted at the window's end, or the endpoint is down: Discord shows "did not respond"
      this.deliveries.push({ interactionId: ix.id, kind: 'interaction', status: 0, sentAt: now, answeredAt: Date.now(), late: true });
      return { ix, status: 0 };
    }
    const answeredAt = Date.now();
    const late = answeredAt - now > this.windowMs;
    this.deliveries.push({ interactionId: ix.id, kind: 'interaction', status, response, sentAt: now, answeredAt, late });
    const type = (response as { type?: unknown } | undefined)?.type;
    if (status === 200 && !late && typeof type === 'number') await this.applyAsCallback(ix, response);
    return { ix, status, response };
  }

  /** The simulator's own callback route records the response (window, 40060, the @original message). */
  private async applyAsCallback(ix: SimInteraction, response: unknown): Promise<void> {
    const res = await fetch(`${this.sim.restUrl}/v10/interactions/${ix.id}/${ix.token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [HTTP_RESPONSE_HEADER]: HTTP_RESPONSE_SOURCE },
      body: JSON.stringify(response),
    });
    await res.arrayBuffer();
  }

  private register(ix: SimInteraction): void {
    this.sim.interactions.set(ix.id, ix);
    // the webhook routes find an interaction by its token in this (private) map: without it the
    // worker's edit of @original would get 10015
    const byToken = (this.sim as unknown as { interactionsByToken?: Map<string, SimInteraction> }).interactionsByToken;
    if (!(byToken instanceof Map)) throw new Error('DiscordSimulator has no interactionsByToken map any more: give it a public way to register an interaction');
    byToken.set(ix.token, ix);
  }

  private token(): string {
    return `aW50ZXJhY3Rpb24${randomBytes(24).toString('base64url')}`;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * When the user could read the answer: the callback for a direct answer (type 4), the first edit of
 * the original for a deferral (type 5); undefined while there is none.
 */
export function responseVisibleAt(ix: Pick<SimInteraction, 'callback' | 'messages'>): number | undefined {
  if (ix.callback?.type === 4) return ix.callback.at;
  if (ix.callback?.type === 5) return ix.messages[0]?.at;
  return undefined;
}
