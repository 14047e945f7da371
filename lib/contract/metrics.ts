/** CloudWatch namespace of the Lambda functions' Powertools metrics: set by CDK, read by the workers and the alarms. */
export const WORKER_METRICS_NAMESPACE = 'DiscordGatewayProxy/Workers';

/**
 * Ingestor metrics that the dashboard and alarms read by name (the ingestor writes them as EMF into its
 * namespace, IngestorRuntime.metricsNamespace).
 */
export const INGESTOR_METRICS = {
  /** gateway commands sent on a shard; dimension Opcode */
  commandsSent: 'GatewayCommandsSent',
  /** ms from queued (by a worker or the CLI) to sent on the shard: the rate limit's wait included; dimension ShardGroup */
  commandWaitMs: 'GatewayCommandWaitMs',
  /** gateway commands the ingestor could not send and dead-lettered; dimensions Opcode, Reason */
  commandsRefused: 'GatewayCommandsRefused',
  /** shards of an application with an owner (a live lease) / without; dimension Application (take the Maximum over tasks) */
  shardsOwned: 'ShardsOwned',
  shardsUnowned: 'ShardsUnowned',
} as const;
