/** Client of the external score service: GET {url}/score/{userId} -> {"score": number}, with a timeout and a circuit breaker. */
import { errorMessage } from '../../lib/contract';
import { CircuitBreaker } from '../shared/circuit-breaker';

export function createScoreClient(baseUrl: string | undefined, timeoutMs: number, breaker = new CircuitBreaker()): (userId: string) => Promise<number> {
  return (userId) =>
    breaker.call(async () => {
      if (!baseUrl) throw new Error('SCORE_SERVICE_URL is not set');
      const res = await fetch(`${baseUrl.replace(/\/$/, '')}/score/${encodeURIComponent(userId)}`, { signal: AbortSignal.timeout(timeoutMs) }).catch((err: unknown) => {
        throw new Error(err instanceof Error && err.name === 'TimeoutError' ? `score service timed out after ${timeoutMs} ms` : `score service unreachable: ${errorMessage(err)}`, { cause: err });
      });
      if (!res.ok) throw new Error(`score service answered HTTP ${res.status}`);
      const body = (await res.json()) as { score?: unknown };
      if (typeof body.score !== 'number') throw new Error('score service answered without a numeric score');
      return body.score;
    });
}
