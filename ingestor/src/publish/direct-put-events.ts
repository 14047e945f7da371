/**
 * PutEvents without the SDK's per-request machinery: the ingestor sends one request per ten events,
 * thousands a second, and per request the SDK's middleware stack (schema serialization, endpoint
 * rules, retry bookkeeping, log filtering of the whole input, user-agent building) cost several
 * hundred µs of CPU, its SigV4 signer ~45 µs and its Node HTTP handler ~220 µs, more than everything
 * else the ingestor does for the ten events (measured, see docs/benchmarks.md).
 *
 * What is resolved once still comes from the SDK, by a real EventBridgeClient: credentials (the
 * default provider chain, cached and refreshed before expiry; asked for on every request, so a
 * refreshed Fargate task role is picked up), region and the endpoint (its endpoint rules: partitions,
 * FIPS, dual-stack, AWS_ENDPOINT_URL). Per request: SigV4 by aws4 (signing keys cached per day,
 * ~20 µs) and HTTP/1.1 keep-alive by an undici Pool (~75-90 µs). What the lean path does not do: the
 * SDK's own retries (the Publisher retries failed requests and entries itself, with backoff).
 * Clock skew is corrected like the SDK does it: a refused request whose Date header is 5 minutes or
 * more away from our clock sets the offset the next requests are signed with (a signature is only
 * valid within 5 minutes of AWS's clock, so without it a skewed task would be refused forever).
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import aws4 from 'aws4';
import { Pool } from 'undici';
import type { PutEventsEntry } from '../../../lib/contract';
import { putResult, type EventSender, type PutResult } from './types';

/** A whole-request refusal, named like the SDK names its exceptions. */
export class PutEventsRequestError extends Error {
  constructor(
    name: string,
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
    this.name = name;
  }
}

interface Target {
  url: URL;
  region: string;
  pool: Pool;
}

/** How far from AWS's clock a request may be signed; the SDK corrects at the same distance. */
const MAX_SKEW_MS = 5 * 60_000;
/** SigV4's timestamp form: 20261202T074100Z */
const amzDate = (ms: number) => new Date(ms).toISOString().replace(/[:-]|\.\d{3}/g, '');

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
type EndpointLike = { protocol: string; hostname: string; port?: number; path: string };
const endpointUrl = (e: EndpointLike) => `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path}`;

interface Answer {
  statusCode: number;
  /** the Date header, when the response had one */
  date?: string;
  body: string;
}

/**
 * One request through undici's dispatcher interface (Pool.dispatch with a handler that collects the
 * body) instead of `pool.request()`, whose response stream and promise plumbing cost 16-33 µs more
 * CPU per request (107 vs 74-91 µs in a micro run). Timeouts are the pool's headersTimeout/bodyTimeout.
 */
function send(pool: Pool, path: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let statusCode = 0;
    let date: string | undefined;
    pool.dispatch(
      { method: 'POST', path, headers, body },
      {
        onConnect: () => undefined,
        onHeaders: (status: number, raw: Buffer[] | string[] | null) => {
          statusCode = status;
          // the Date header only matters on a refusal (clock skew); raw: name, value, name, value, ...
          for (let i = 0; status > 299 && raw && i + 1 < raw.length; i += 2) {
            if (raw[i]?.toString().toLowerCase() === 'date') date = raw[i + 1]?.toString();
          }
          return true;
        },
        onData: (chunk: Buffer) => {
          chunks.push(chunk);
          return true;
        },
        onComplete: () => resolve({ statusCode, date, body: Buffer.concat(chunks).toString('utf8') }),
        onError: reject,
      },
    );
  });
}

export interface DirectPutEventsOptions {
  /** a request without an answer in this time fails (retried by the publisher) @default 10000 */
  requestTimeoutMs?: number;
  /** keep-alive connections to the endpoint: the publisher's in-flight requests @default 32 */
  connections?: number;
}

export class DirectPutEventsSender implements EventSender {
  private target?: Promise<Target>;
  private closed = false;
  private readonly requestTimeoutMs: number;
  private readonly connections: number;
  /** added to our clock when signing: AWS's clock minus ours, when they were 5 minutes or more apart */
  clockOffsetMs = 0;

  constructor(
    private readonly client: EventBridgeClient,
    opts: DirectPutEventsOptions = {},
  ) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.connections = opts.connections ?? 32;
  }

  private get config() {
    return this.client.config as unknown as {
      region: () => Promise<string>;
      useFipsEndpoint: () => Promise<boolean>;
      useDualstackEndpoint: () => Promise<boolean>;
      endpoint?: () => Promise<EndpointLike>;
      serviceConfiguredEndpoint?: () => Promise<string | undefined>;
      endpointProvider: (params: Record<string, unknown>) => { url: URL };
      credentials: () => Promise<Credentials>;
    };
  }

  /** Region and endpoint, resolved once by the SDK's own config; one connection pool to it. */
  private async resolve(): Promise<Target> {
    const c = this.config;
    const region = await c.region();
    const custom = c.endpoint ? endpointUrl(await c.endpoint()) : await c.serviceConfiguredEndpoint?.();
    const { url } = c.endpointProvider({ Region: region, UseFIPS: await c.useFipsEndpoint(), UseDualStack: await c.useDualstackEndpoint(), Endpoint: custom });
    const u = new URL(url.href);
    return { url: u, region, pool: new Pool(u.origin, { connections: this.connections, pipelining: 1, headersTimeout: this.requestTimeoutMs, bodyTimeout: this.requestTimeoutMs }) };
  }

  async put(entries: PutEventsEntry[]): Promise<PutResult> {
    if (this.closed) throw new Error('the PutEvents sender is closed');
    this.target ??= this.resolve().catch((err: unknown) => {
      this.target = undefined; // resolve again next time
      throw err;
    });
    const { url, region, pool } = await this.target;
    const credentials = await this.config.credentials();
    // encoded once: its length, its SHA-256 for the signature and the bytes on the wire all come
    // from the same Buffer (a string body was measured through UTF-8 three times: ~11 % of the CPU
    // at 16 KB events)
    const body = Buffer.from(JSON.stringify({ Entries: entries }), 'utf8');
    const signed = aws4.sign(
      {
        service: 'events',
        region,
        method: 'POST',
        host: url.host,
        path: url.pathname,
        headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'AWSEvents.PutEvents', 'Content-Length': String(body.length), 'X-Amz-Date': amzDate(Date.now() + this.clockOffsetMs) },
        body,
      },
      credentials,
    );
    const res = await send(pool, url.pathname, signed.headers as Record<string, string>, body);
    const text = res.body;
    if (res.statusCode < 200 || res.statusCode > 299) {
      this.correctClock(res.date);
      let name = `Http${res.statusCode}`;
      let message = text.slice(0, 300);
      try {
        const e = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
        if (e.__type) name = e.__type.slice(e.__type.lastIndexOf('#') + 1);
        message = e.message ?? e.Message ?? message;
      } catch {
        // not JSON (a proxy's HTML page): keep the text
      }
      throw new PutEventsRequestError(name, `PutEvents answered ${res.statusCode}: ${name}: ${message}`, res.statusCode);
    }
    const out = JSON.parse(text) as { Entries?: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }> };
    return putResult(entries.length, out.Entries);
  }

  /** A refused request tells AWS's time in its Date header: sign with that clock from now on when ours is 5 minutes or more off. */
  private correctClock(date: string | string[] | undefined): void {
    const server = typeof date === 'string' ? Date.parse(date) : NaN;
    if (Number.isNaN(server)) return;
    const now = Date.now();
    if (Math.abs(server - (now + this.clockOffsetMs)) >= MAX_SKEW_MS) this.clockOffsetMs = server - now;
  }

  /** Closes the keep-alive connections; no request is sent after this. */
  async destroy(): Promise<void> {
    this.closed = true;
    const t = await this.target?.catch(() => undefined);
    await t?.pool.destroy();
  }
}
