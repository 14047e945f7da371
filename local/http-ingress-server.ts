/**
 * The HTTP interactions ingress on this machine: the real `lambdas/http-ingress` handler behind a small
 * HTTP server that turns each request into the API Gateway HTTP API event (payload format 2.0) the
 * deployed function receives, on the same route (POST /interactions). The function's environment comes
 * from the local stage's template, with the interactions queue's URL on the emulator.
 *
 * Not emulated: the stage's throttle (API Gateway answers 429 above it) and its 10 MB payload cap
 * (here 1 MiB; the function refuses anything above MAX_BODY_BYTES itself).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { parseHttpIngressConfig } from '../lambdas/http-ingress/config';
import { httpIngressDepsFrom } from '../lambdas/http-ingress/deps';
import { httpIngressHandler } from '../lambdas/http-ingress/handler';

const MAX_READ_BYTES = 1024 * 1024;
const ROUTE = 'POST /interactions';

export interface HttpIngressServer {
  /** the Interactions Endpoint URL */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

export interface HttpIngressServerOptions {
  /** the function's environment (DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID, INTERACTION_QUEUE_URL, ...) */
  env: Record<string, string | undefined>;
  /** an SQS client for the local endpoint */
  sqs: Pick<SQSClient, 'send'>;
  /** @default 0 (any free port) */
  port?: number;
}

// eslint-disable-next-line @typescript-eslint/no-deprecated -- @types/aws-lambda's Context still requires the legacy callbacks; the handler never calls them
const legacyCallbacks: Pick<Context, 'done' | 'fail' | 'succeed'> = { done: () => undefined, fail: () => undefined, succeed: () => undefined };

function context(): Context {
  const id = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'http-ingress',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:http-ingress',
    memoryLimitInMB: '512',
    awsRequestId: id,
    logGroupName: '/aws/lambda/http-ingress',
    logStreamName: `local/${id}`,
    getRemainingTimeInMillis: () => 3_000,
    ...legacyCallbacks,
  };
}

/** Reads at most MAX_READ_BYTES; undefined when the body is larger. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > MAX_READ_BYTES) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startHttpIngressServer(opts: HttpIngressServerOptions): Promise<HttpIngressServer> {
  // the same configuration parse as a cold start: a bad variable stops here with its name
  const deps = httpIngressDepsFrom(parseHttpIngressConfig(opts.env), opts.sqs);
  const handler = httpIngressHandler(() => Promise.resolve(deps));
  const server: Server = createServer((req, res) => {
    void (async () => {
      const send = (status: number, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
        res.writeHead(status, headers);
        res.end(body);
      };
      try {
        const url = new URL(req.url ?? '/', 'http://local');
        const routeKey = `${req.method} ${url.pathname}`;
        if (routeKey !== ROUTE) {
          send(404, '{"message":"Not Found"}');
          return;
        }
        const body = await readBody(req);
        if (!body) {
          send(413, '{"message":"Request Entity Too Large"}');
          return;
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
        const text = /json|text/.test(headers['content-type'] ?? '');
        const now = Date.now();
        const event: APIGatewayProxyEventV2 = {
          version: '2.0',
          routeKey: ROUTE,
          rawPath: url.pathname,
          rawQueryString: url.search.replace(/^\?/, ''),
          headers,
          requestContext: {
            accountId: '000000000000',
            apiId: 'local',
            domainName: headers.host ?? '127.0.0.1',
            domainPrefix: 'local',
            http: { method: req.method ?? 'POST', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
            requestId: randomUUID(),
            routeKey: ROUTE,
            stage: '$default',
            time: new Date(now).toISOString(),
            timeEpoch: now,
          },
          // API Gateway passes text as is and base64-encodes anything else
          body: text ? body.toString('utf8') : body.toString('base64'),
          isBase64Encoded: !text,
        };
        const r = await handler(event, context());
        const out = typeof r === 'string' ? { statusCode: 200, body: r, headers: {} } : r;
        send(out.statusCode ?? 200, out.body ?? '', Object.fromEntries(Object.entries(out.headers ?? {}).map(([k, v]) => [k, String(v)])));
      } catch (err) {
        // API Gateway answers a failed invocation with 500 and this body
        if (!res.headersSent) send(500, '{"message":"Internal Server Error"}');
        else res.destroy(err as Error);
      }
    })();
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/interactions`,
    port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
