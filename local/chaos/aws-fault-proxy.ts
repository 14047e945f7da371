/**
 * An AWS endpoint with faults: a loopback HTTP proxy in front of the real emulator that passes every
 * request through, except EventBridge PutEvents while a fault is set. The ingestor under test points
 * AWS_ENDPOINT_URL at it; S3 and Secrets Manager calls pass untouched.
 *
 * - `down`: the connection is dropped without an answer (the bus is unreachable)
 * - `throttle`: every entry comes back ThrottlingException (retryable)
 * - `reset-after-forward`: the request reaches the bus, then the connection is reset before the
 *   answer (accepted, but the client cannot know: it retries, a duplicate downstream)
 * - `refuse`: entries `refuse(entry)` picks come back AccessDeniedException (refused for good);
 *   the others are forwarded
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type PutEventsFault = { kind: 'down' } | { kind: 'throttle' } | { kind: 'reset-after-forward' } | { kind: 'refuse'; refuse: (entry: { DetailType?: string; Detail?: string }) => boolean };

export class AwsFaultProxy {
  fault: PutEventsFault | undefined;
  readonly counts = { putEvents: 0, faulted: 0, refusedEntries: 0 };
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly upstream: URL,
  ) {}

  static async start(upstream: string): Promise<AwsFaultProxy> {
    const server = createServer();
    const proxy = new AwsFaultProxy(server, new URL(upstream));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void proxy.handle(req, res));
    server.on('connection', (s) => {
      proxy.sockets.add(s);
      s.on('close', () => proxy.sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Sets a fault (or clears it with undefined); `down` also drops the connections already open. */
  set(fault: PutEventsFault | undefined): void {
    this.fault = fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body = Buffer.concat(chunks);
    const isPut = req.headers['x-amz-target'] === 'AWSEvents.PutEvents';
    const fault = isPut ? this.fault : undefined;
    if (isPut) this.counts.putEvents++;
    if (fault) this.counts.faulted++;
    if (fault?.kind === 'down') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'throttle') {
      const n = (JSON.parse(body.toString()) as { Entries: unknown[] }).Entries.length;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ FailedEntryCount: n, Entries: Array.from({ length: n }, () => ({ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' })) }));
      return;
    }
    let refusedAt: boolean[] | undefined;
    if (fault?.kind === 'refuse') {
      const entries = (JSON.parse(body.toString()) as { Entries: Array<{ DetailType?: string; Detail?: string }> }).Entries;
      const refused = entries.map((e) => fault.refuse(e));
      refusedAt = refused;
      const kept = entries.filter((_, i) => !refused[i]);
      this.counts.refusedEntries += entries.length - kept.length;
      if (kept.length === 0) {
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ FailedEntryCount: entries.length, Entries: entries.map(() => ({ ErrorCode: 'AccessDeniedException', ErrorMessage: 'refused by the fault proxy' })) }));
        return;
      }
      body = Buffer.from(JSON.stringify({ Entries: kept }));
    }
    const up = await this.forward(req, body).catch(() => undefined);
    if (!up || fault?.kind === 'reset-after-forward') {
      req.socket.destroy();
      return;
    }
    let out = up.body;
    if (refusedAt) {
      const results = (JSON.parse(up.body.toString()) as { Entries: unknown[] }).Entries;
      let k = 0;
      const merged = refusedAt.map((r) => (r ? { ErrorCode: 'AccessDeniedException', ErrorMessage: 'refused by the fault proxy' } : results[k++]));
      out = Buffer.from(JSON.stringify({ FailedEntryCount: merged.filter((e) => (e as { ErrorCode?: string }).ErrorCode).length, Entries: merged }));
    }
    const headers: Record<string, string | string[] | undefined> = { ...up.headers, 'content-length': String(out.length) };
    delete headers['transfer-encoding'];
    res.writeHead(up.status, headers).end(out);
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | string[] | undefined> = { ...req.headers, host: this.upstream.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const r = request({ host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers }, (res) => {
        const cs: Buffer[] = [];
        res.on('data', (c: Buffer) => cs.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(cs) }));
        res.on('error', reject);
      });
      r.on('error', reject);
      r.end(body);
    });
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
