/**
 * A stand-in for the slow external score service `/check-eligibility` calls: GET /score/{userId}
 * answers {"score": n} after a configurable latency (200 ms to 2 s in the user stories).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScoreService {
  url: string;
  latencyMs: number;
  failing: boolean;
  requests: number;
  /** responses sent (requests minus answered = still waiting on the latency) */
  answered: number;
  stop(): Promise<void>;
}

/** `port` 0 takes any free port; the local stage uses a fixed one, since the deployed worker's SCORE_SERVICE_URL names it. */
export async function startScoreService(latencyMs = 200, port = 0): Promise<ScoreService> {
  const svc = { latencyMs, failing: false, requests: 0, answered: 0 } as ScoreService;
  const server: Server = createServer((req, res) => {
    svc.requests++;
    const userId = /^\/score\/(\d+)$/.exec(req.url ?? '')?.[1];
    setTimeout(() => {
      svc.answered++;
      if (svc.failing) return void res.writeHead(503).end();
      if (userId === undefined) return void res.writeHead(404).end();
      // a stable score per user
      const score = Number(BigInt(userId) % 100n);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ score }));
    }, svc.latencyMs);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new Error(`the score service cannot listen on 127.0.0.1:${port}: the port is in use (another npm run local or test still running?); stop it or set LOCAL_SCORE_PORT`) : err));
    server.listen(port, '127.0.0.1', () => resolve());
  });
  svc.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  svc.stop = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return svc;
}
