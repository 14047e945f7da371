/**
 * Powertools metrics (CloudWatch EMF) of the Lambda functions, one instance per container at module
 * scope as Powertools' docs create it; the handlers publish it once per invocation with the
 * `logMetrics` middleware (lambdas/shared/worker.ts, lambdas/http-ingress/handler.ts).
 * Each processed event counts one outcome, by worker and outcome (interactions answered, deferred,
 * expired after the 3 s window; member events applied, stale, duplicate, ...).
 * https://docs.powertools.aws.dev/lambda/typescript/latest/features/metrics/
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { WORKER_METRICS_NAMESPACE } from '../../lib/contract';

/** Namespace and service from POWERTOOLS_METRICS_NAMESPACE / POWERTOOLS_SERVICE_NAME (set per function by CDK). */
export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? WORKER_METRICS_NAMESPACE,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'workers',
});

/** Counts one outcome, e.g. countOutcome('Interaction', 'unknown-command') -> metric InteractionUnknownCommand. */
export function countOutcome(prefix: string, outcome: string, latencyMs?: number): void {
  const name = `${prefix}${outcome.replace(/(^|-)([a-z])/g, (_, __, c: string) => c.toUpperCase())}`;
  metrics.addMetric(name, MetricUnit.Count, 1);
  if (latencyMs !== undefined && latencyMs >= 0) metrics.addMetric(`${prefix}AgeOnArrivalMs`, MetricUnit.Milliseconds, latencyMs);
}
