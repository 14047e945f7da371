/**
 * A small circuit breaker (per container): after `failureThreshold` consecutive failures it opens
 * and fails fast for `openMs`, then lets one trial call through (half-open).
 */
export class CircuitOpenError extends Error {
  constructor(readonly retryInMs: number) {
    super(`circuit open, retry in ${Math.ceil(retryInMs / 1000)} s`);
    this.name = 'CircuitOpenError';
  }
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    private readonly failureThreshold = 3,
    private readonly openMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.openMs ? 'half-open' : 'open';
  }

  async call<T>(fn: () => Promise<T>): Promise<T> {
    const s = this.state;
    if (s === 'open') throw new CircuitOpenError(this.openMs - (this.now() - (this.openedAt ?? this.now())));
    if (s === 'half-open') {
      if (this.trialInFlight) throw new CircuitOpenError(0);
      this.trialInFlight = true;
    }
    try {
      const out = await fn();
      this.failures = 0;
      this.openedAt = undefined;
      return out;
    } catch (err) {
      this.failures++;
      if (s === 'half-open' || this.failures >= this.failureThreshold) this.openedAt = this.now();
      throw err;
    } finally {
      if (s === 'half-open') this.trialInFlight = false;
    }
  }
}
