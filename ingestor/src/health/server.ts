/**
 * The health stage: /health (the process answers: the container health check) and /ready (every
 * owned shard READY, the bus reachable, no fatal close; the body says what is not and the counters).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(port: number, status: () => { ready: boolean }): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    if (req.url === '/health') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
    } else if (req.url === '/ready') {
      const s = status();
      res.writeHead(s.ready ? 200 : 503, { 'Content-Type': 'application/json' }).end(JSON.stringify(s));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(port, '0.0.0.0', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
