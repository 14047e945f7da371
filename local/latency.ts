/**
 * The one percentile helper of the local tools and benchmarks, and a bounded latency recorder fed by
 * the ingestor's `onPublished` hook (the ingestor itself keeps only the EMF sample).
 */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

export class LatencyRecorder {
  private values: number[] = [];

  constructor(private readonly keep = 10_000) {}

  readonly record = (_meta: unknown, latencyMs: number): void => {
    this.values.push(latencyMs);
    if (this.values.length > this.keep) this.values.splice(0, this.values.length - this.keep);
  };

  reset(): void {
    this.values = [];
  }

  percentiles(): { p50: number; p99: number } {
    return { p50: percentile(this.values, 50), p99: percentile(this.values, 99) };
  }
}
