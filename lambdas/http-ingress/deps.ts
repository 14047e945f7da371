/** Clients of the HTTP ingress, built once per container on first use: the key registry and the SQS sender. */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { commandRegistry } from '../interaction/commands';
import { httpIngressConfig, type HttpIngressConfig } from './config';
import { singleKeyRegistry, type HttpIngressDeps } from './core';

/** Deps from a configuration; `sqs` lets the local server pass a client pointed at the emulator. */
// Discord waits 3 s for the response, and the function times out then: the send gets two tries of at
// most 1 s each, so a slow queue ends in the user-facing "try again" answer instead of a timeout
const sqsClient = (region: string) => new SQSClient({ region, maxAttempts: 2, requestHandler: { connectionTimeout: 300, requestTimeout: 1_000, throwOnRequestTimeout: true } });

export function httpIngressDepsFrom(cfg: HttpIngressConfig, sqs: Pick<SQSClient, 'send'> = sqsClient(cfg.AWS_REGION)): HttpIngressDeps {
  return {
    keys: singleKeyRegistry(cfg.DISCORD_APPLICATION_ID, cfg.DISCORD_PUBLIC_KEY),
    enqueue: async (body) => {
      await sqs.send(new SendMessageCommand({ QueueUrl: cfg.INTERACTION_QUEUE_URL, MessageBody: body }));
    },
    commands: commandRegistry(),
    maxBodyBytes: cfg.MAX_BODY_BYTES,
    fastBudgetMs: cfg.FAST_COMMAND_BUDGET_MS,
    region: cfg.AWS_REGION,
  };
}

let deps: HttpIngressDeps | undefined;
export const httpIngressDeps = (): Promise<HttpIngressDeps> => Promise.resolve((deps ??= httpIngressDepsFrom(httpIngressConfig())));
