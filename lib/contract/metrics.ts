/** CloudWatch namespace of the Lambda functions' Powertools metrics: set by CDK, read by the workers and the alarms. */
export const WORKER_METRICS_NAMESPACE = 'DiscordGatewayProxy/Workers';
