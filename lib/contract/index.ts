/** The event contract: imported by CDK, ingestor, workers and tests (docs/architecture.md). */
export * from './errors';
export * from './dispatch';
export * from './routing';
export * from './intents';
export * from './envelope';
export * from './eventbridge';
export * from './ingestor-runtime';
export * from './metrics';
export * from './gateway-commands';
