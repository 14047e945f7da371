/**
 * PutEvents without the SDK's per-request middleware stack: the ingestor sends one request per ten
 * events, thousands a second, and the SDK's stack (schema serialization, endpoint rules, retry
 * bookkeeping, log filtering of the whole input, user-agent building) cost several hundred µs of CPU
 * per request, more than everything else the ingestor does per event (see docs/benchmarks.md).
 *
 * Everything that is not per-request still comes from the SDK, resolved by a real EventBridgeClient:
 * credentials (the default provider chain, cached and refreshed before expiry), region, the endpoint
 * (its endpoint rules once: partitions, FIPS, dual-stack, AWS_ENDPOINT_URL), the SHA-256
 * implementation, SigV4 signing (@smithy/signature-v4, the SDK's signer) and the HTTP handler with its
 * keep-alive agent. What the lean path does not do: the SDK's own retries (the Publisher retries
 * failed requests and entries itself, with backoff) and clock-skew correction (Fargate's clock is
 * NTP-synced; a skewed clock shows as InvalidSignatureException / SignatureDoesNotMatch).
 * PUT_EVENTS_CLIENT=sdk switches back to the SDK's PutEventsCommand.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import type { PutEventsEntry } from '../../../lib/contract';
import { putResult } from './eventbridge-sender';
import type { EventSender, PutResult } from './publisher';

/** A whole-request refusal, named like the SDK names its exceptions. */
export class PutEventsRequestError extends Error {
  constructor(name: string, message: string, readonly statusCode: number) {
    super(message);
    this.name = name;
  }
}

interface Target {
  url: URL;
  signer: SignatureV4;
}

type Handler = { handle(req: HttpRequest, opts?: { abortSignal?: AbortSignal }): Promise<{ response: { statusCode: number; body: AsyncIterable<Uint8Array> } }> };

type EndpointLike = { protocol: string; hostname: string; port?: number; path: string };
const endpointUrl = (e: EndpointLike) => `${e.protocol}//${e.hostname}${e.port ? `:${e.port}` : ''}${e.path}`;

async function readBody(body: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString('utf8');
}

export class DirectPutEventsSender implements EventSender {
  private target?: Promise<Target>;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly requestTimeoutMs = 10_000,
  ) {}

  /** Region, endpoint and signer, resolved once by the SDK's own config. */
  private async resolve(): Promise<Target> {
    const c = this.client.config as unknown as {
      region: () => Promise<string>;
      useFipsEndpoint: () => Promise<boolean>;
      useDualstackEndpoint: () => Promise<boolean>;
      endpoint?: () => Promise<EndpointLike>;
      serviceConfiguredEndpoint?: () => Promise<string | undefined>;
      endpointProvider: (params: Record<string, unknown>) => { url: URL };
      credentials: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
      sha256: ConstructorParameters<typeof SignatureV4>[0]['sha256'];
    };
    const region = await c.region();
    const custom = c.endpoint ? endpointUrl(await c.endpoint()) : await c.serviceConfiguredEndpoint?.();
    const { url } = c.endpointProvider({ Region: region, UseFIPS: await c.useFipsEndpoint(), UseDualStack: await c.useDualstackEndpoint(), Endpoint: custom });
    return { url: new URL(url.href), signer: new SignatureV4({ service: 'events', region, credentials: c.credentials, sha256: c.sha256, uriEscapePath: true, applyChecksum: true }) };
  }

  async put(entries: PutEventsEntry[]): Promise<PutResult> {
    this.target ??= this.resolve().catch((err) => {
      this.target = undefined; // resolve again next time (e.g. credentials not there yet)
      throw err;
    });
    const { url, signer } = await this.target;
    const body = JSON.stringify({ Entries: entries });
    const request = new HttpRequest({
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      headers: {
        host: url.host,
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AWSEvents.PutEvents',
        'content-length': String(Buffer.byteLength(body)),
      },
      body,
    });
    const signed = (await signer.sign(request)) as HttpRequest;
    const { response } = await (this.client.config.requestHandler as unknown as Handler).handle(signed, { abortSignal: AbortSignal.timeout(this.requestTimeoutMs) });
    const text = await readBody(response.body);
    if (response.statusCode < 200 || response.statusCode > 299) {
      let name = `Http${response.statusCode}`;
      let message = text.slice(0, 300);
      try {
        const e = JSON.parse(text) as { __type?: string; message?: string; Message?: string };
        if (e.__type) name = e.__type.split('#').pop()!;
        message = e.message ?? e.Message ?? message;
      } catch {
        // not JSON (a proxy's HTML page): keep the text
      }
      throw new PutEventsRequestError(name, `PutEvents answered ${response.statusCode}: ${name}: ${message}`, response.statusCode);
    }
    const out = JSON.parse(text) as { Entries?: Array<{ EventId?: string; ErrorCode?: string; ErrorMessage?: string }> };
    return putResult(entries.length, out.Entries);
  }
}
