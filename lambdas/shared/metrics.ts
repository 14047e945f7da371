/**
 * Powertools metrics (CloudWatch EMF) for the workers: one outcome count per processed event, by
 * worker and outcome (e.g. interactions answered, deferred, expired after the 3 s window; member
 * events applied, stale, duplicate). Namespace from POWERTOOLS_METRICS_NAMESPACE.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

let instance: Metrics | undefined;
/** Created on first use, so the environment of the container (or the local runner) applies. */
export const metrics = (): Metrics =>
  (instance ??= new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'DiscordGatewayProxy/Workers', serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'workers' }));

/** Counts one outcome, e.g. count('Interaction', 'expired') -> metric InteractionExpired. */
export function countOutcome(prefix: string, outcome: string, latencyMs?: number): void {
  const name = `${prefix}${outcome.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}`;
  metrics().addMetric(name, MetricUnit.Count, 1);
  if (latencyMs !== undefined && latencyMs >= 0) metrics().addMetric(`${prefix}AgeOnArrivalMs`, MetricUnit.Milliseconds, latencyMs);
}

/** Writes the metrics of this invocation (one EMF line per batch). */
export function flushMetrics(): void {
  // nothing stored (a batch that failed before any outcome, or Powertools flushed at its 100-value
  // limit already): no empty-metrics warning either
  if (!instance || !instance.hasStoredMetrics()) return;
  instance.publishStoredMetrics();
}
