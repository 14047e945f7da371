/**
 * HTTP interactions ingress core: Discord POSTs each interaction to the Interactions Endpoint URL,
 * signed with the application's Ed25519 key, and takes the HTTP response as the interaction's first
 * answer. https://discord.com/developers/docs/interactions/overview#preparing-for-interactions
 *
 * - Nothing costly before the signature: size, header shape and timestamp are checked first, and the
 *   body is parsed only once the signature verifies. Every bad request gets 401/413/400, never a throw.
 * - PING -> PONG. A `fast`, self-contained command without a cooldown is answered here (type 4).
 *   Every other command is enqueued on the interactions tier, in the same envelope as the gateway path
 *   (ingress 'http'), and answered DEFERRED (type 5): the worker then edits the original response.
 *
 * Pure: the key registry, the queue and the clock come in `deps`.
 */
import { createPublicKey, randomUUID, verify, type KeyObject } from 'node:crypto';
import { EVENT_SOURCE, wrapDispatch, type InlineEnvelope } from '../../lib/contract';
import type { Command, CommandContext } from '../interaction/commands/types';
import { MAX_TIMESTAMP_SKEW_S } from './config';

// https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object-interaction-type
const PING = 1;
const APPLICATION_COMMAND = 2;
const MESSAGE_COMPONENT = 3;
const AUTOCOMPLETE = 4;
const MODAL_SUBMIT = 5;
// https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-response-object-interaction-callback-type
const PONG = 1;
const CHANNEL_MESSAGE = 4;
const DEFERRED_CHANNEL_MESSAGE = 5;
const DEFERRED_UPDATE_MESSAGE = 6;
const AUTOCOMPLETE_RESULT = 8;
const EPHEMERAL = 64;

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The application's public key (64 hex characters, as the developer portal shows it) as a KeyObject. */
export function publicKeyFromHex(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('an Ed25519 public key is 64 hex characters (32 bytes)');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

/**
 * Which key verifies requests for an application. One key from the configuration for now; a
 * per-application registry (several bots behind one endpoint, `/interactions/{applicationId}`) plugs
 * in here as a lookup by application id.
 */
export interface PublicKeyRegistry {
  /** the key of `applicationId` (undefined: the endpoint's default application), or undefined when unknown */
  keyFor(applicationId: string | undefined): { applicationId: string; key: KeyObject } | undefined;
}

export function singleKeyRegistry(applicationId: string, publicKeyHex: string): PublicKeyRegistry {
  const entry = { applicationId, key: publicKeyFromHex(publicKeyHex) };
  return { keyFor: (id) => (id === undefined || id === applicationId ? entry : undefined) };
}

export interface HttpRequest {
  method: string;
  /** lower-case header names */
  headers: Readonly<Record<string, string | undefined>>;
  /** the body exactly as received: the signature covers these bytes */
  body: Buffer;
  /** the application named by the route, when the route carries one (a future registry); else the default */
  applicationId?: string;
  /** account and region written into the enqueued event (as EventBridge would) */
  account?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type HttpIngressOutcome = 'pong' | 'answered' | 'deferred' | 'deferred-fallback' | 'unknown-command' | 'acknowledged' | 'enqueue-failed' | 'rejected-method' | 'rejected-size' | 'rejected-signature' | 'rejected-timestamp' | 'rejected-body';

export interface HttpIngressDeps {
  keys: PublicKeyRegistry;
  /** sends one SQS message body to the interactions tier queue */
  enqueue(body: string): Promise<void>;
  commands: ReadonlyMap<string, Command>;
  maxBodyBytes: number;
  /** how long a self-contained fast command may run here before it is deferred instead @default 1000 */
  fastBudgetMs?: number;
  region?: string;
  now?: () => number;
  newId?: () => string;
  onOutcome?: (outcome: HttpIngressOutcome) => void;
  /** told why an enqueue or a command failed (no token, no body) */
  onError?: (what: string, err: unknown) => void;
}

const json = (status: number, payload: unknown): HttpResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
const reject = (status: number, message: string): HttpResponse => json(status, { message });

const SIGNATURE = /^[0-9a-fA-F]{128}$/;
const TIMESTAMP = /^\d{1,12}$/;

/** Ed25519 over timestamp + raw body. Only well-formed headers reach here. */
export function verifySignature(key: KeyObject, signatureHex: string, timestamp: string, body: Buffer): boolean {
  try {
    return verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), body]), key, Buffer.from(signatureHex, 'hex'));
  } catch {
    return false;
  }
}

interface InteractionBody {
  id?: unknown;
  application_id?: unknown;
  type?: unknown;
  token?: unknown;
  data?: { name?: unknown };
}

/** The SQS message body a rule of the bus would deliver for this envelope, so the worker reads both paths alike. */
export function deliveredEventBody(envelope: InlineEnvelope, meta: { id: string; account: string; region: string; time: number }): string {
  return JSON.stringify({
    version: '0',
    id: meta.id,
    'detail-type': envelope.type,
    source: EVENT_SOURCE,
    account: meta.account,
    time: new Date(meta.time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: meta.region,
    resources: [],
    detail: envelope,
  });
}

export async function handleHttpInteraction(req: HttpRequest, deps: HttpIngressDeps): Promise<HttpResponse> {
  const out = (o: HttpIngressOutcome, r: HttpResponse) => {
    deps.onOutcome?.(o);
    return r;
  };
  if (req.method !== 'POST') return out('rejected-method', reject(405, 'POST only'));
  if (req.body.length > deps.maxBodyBytes) return out('rejected-size', reject(413, `body over ${deps.maxBodyBytes} bytes`));

  // cheap checks first: a flood of unsigned or replayed requests costs a regex and a comparison each
  const signature = req.headers['x-signature-ed25519'];
  const timestamp = req.headers['x-signature-timestamp'];
  if (!signature || !timestamp || !SIGNATURE.test(signature) || !TIMESTAMP.test(timestamp)) {
    return out('rejected-signature', reject(401, 'missing or malformed X-Signature-Ed25519 / X-Signature-Timestamp'));
  }
  const now = (deps.now ?? Date.now)();
  if (Math.abs(now / 1000 - Number(timestamp)) > MAX_TIMESTAMP_SKEW_S) {
    return out('rejected-timestamp', reject(401, `X-Signature-Timestamp is more than ${MAX_TIMESTAMP_SKEW_S} s from now`));
  }
  const app = deps.keys.keyFor(req.applicationId);
  if (!app || !verifySignature(app.key, signature, timestamp, req.body)) return out('rejected-signature', reject(401, 'invalid request signature'));

  // signed by Discord from here on
  let body: InteractionBody;
  try {
    const parsed: unknown = JSON.parse(req.body.toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    body = parsed;
  } catch {
    return out('rejected-body', reject(400, 'body is not a JSON object'));
  }
  if (body.type === PING) return out('pong', json(200, { type: PONG }));
  if (body.application_id !== undefined && body.application_id !== app.applicationId) {
    return out('rejected-body', reject(400, `application_id is not ${app.applicationId}, the application this endpoint verifies for`));
  }
  if (body.type === MESSAGE_COMPONENT || body.type === MODAL_SUBMIT) return out('acknowledged', json(200, { type: DEFERRED_UPDATE_MESSAGE }));
  if (body.type === AUTOCOMPLETE) return out('acknowledged', json(200, { type: AUTOCOMPLETE_RESULT, data: { choices: [] } }));
  if (body.type !== APPLICATION_COMMAND) return out('rejected-body', reject(400, `interaction type ${JSON.stringify(body.type)} is not handled`));
  if (typeof body.id !== 'string' || !/^\d{1,20}$/.test(body.id) || typeof body.token !== 'string') {
    return out('rejected-body', reject(400, 'an application command needs an id (snowflake) and a token'));
  }

  const name = typeof body.data?.name === 'string' ? body.data.name : '';
  const command = deps.commands.get(name);
  if (!command) {
    return out('unknown-command', json(200, { type: CHANNEL_MESSAGE, data: { content: `Unknown command /${name}. It may have been removed.`, flags: EPHEMERAL } }));
  }
  let fallback = false;
  if (command.mode === 'fast' && command.selfContained && !command.cooldownSeconds) {
    const answer = await runHere(command, body, deps.fastBudgetMs ?? 1_000).catch((err: unknown) => {
      deps.onError?.(`/${name} could not be answered here; deferring it to the worker`, err);
      return undefined;
    });
    if (answer) return out('answered', json(200, { type: CHANNEL_MESSAGE, data: answer }));
    fallback = true;
  }

  let envelope: InlineEnvelope;
  try {
    envelope = wrapDispatch({
      appId: app.applicationId,
      // no shard and no session: the interaction id makes the envelope id (a retried POST gets the same one)
      shardId: 0,
      sessionId: `http:${body.id}`,
      seq: 0,
      type: 'INTERACTION_CREATE',
      data: body,
      receivedAt: now,
      ingress: 'http',
    });
  } catch (err) {
    return out('rejected-body', reject(400, `not a valid interaction: ${(err as Error).message}`));
  }
  try {
    await deps.enqueue(deliveredEventBody(envelope, { id: (deps.newId ?? randomUUID)(), account: req.account ?? '000000000000', region: deps.region ?? 'us-east-1', time: now }));
  } catch (err) {
    deps.onError?.('enqueue on the interactions queue failed', err);
    // an answer the user can read beats "the application did not respond"
    return out('enqueue-failed', json(200, { type: CHANNEL_MESSAGE, data: { content: 'Something went wrong on our side. Please try again in a moment.', flags: EPHEMERAL } }));
  }
  return out(fallback ? 'deferred-fallback' : 'deferred', json(200, { type: DEFERRED_CHANNEL_MESSAGE, ...(command.ephemeral ? { data: { flags: EPHEMERAL } } : {}) }));
}

/** An id from the unchecked body as text: a string as it is, anything else empty. */
const snowflakeText = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Runs a self-contained command with a context that has no clients, within `budgetMs`. */
async function runHere(command: Command, body: InteractionBody, budgetMs: number) {
  const b = body as InteractionBody & { guild_id?: unknown; channel_id?: unknown; member?: { user?: { id?: unknown } }; user?: { id?: unknown }; data?: { options?: Array<{ name: string; value?: unknown }> } };
  const missing = (what: string) => () => {
    throw new Error(`/${command.definition.name} is selfContained but used ctx.${what}, which the HTTP ingress does not have`);
  };
  const ctx = {
    interactionId: String(b.id),
    applicationId: snowflakeText(b.application_id),
    guildId: typeof b.guild_id === 'string' ? b.guild_id : null,
    channelId: typeof b.channel_id === 'string' ? b.channel_id : null,
    userId: snowflakeText(b.member?.user?.id ?? b.user?.id),
    options: Object.fromEntries((Array.isArray(b.data?.options) ? b.data.options : []).flatMap((o) => ('value' in o ? [[o.name, o.value as string | number | boolean]] : []))),
  } as CommandContext;
  for (const k of ['redis', 'pool', 'score'] as const) Object.defineProperty(ctx, k, { get: missing(k) });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([command.run(ctx), new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), budgetMs)))]);
  } finally {
    clearTimeout(timer);
  }
}
