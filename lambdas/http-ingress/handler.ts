/**
 * HTTP interactions ingress: API Gateway HTTP API (payload format 2.0) -> handleHttpInteraction.
 * A middy wrapper like the workers' (lambdas/shared/worker.ts): Powertools' injectLambdaContext and
 * logMetrics, so the Lambda context is in every log line and the metrics are published per request.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { errorMessage } from '../../lib/contract';
import { coreLogger, logger } from '../shared/logger';
import { countOutcome, metrics } from '../shared/metrics';
import { handleHttpInteraction, type HttpIngressDeps } from './core';
import { httpIngressDeps } from './deps';

type Result = APIGatewayProxyStructuredResultV2;

/** The handler over any deps (the local server passes its own; Lambda builds them from the environment). */
export function httpIngressHandler(deps: () => Promise<HttpIngressDeps>) {
  return middy<APIGatewayProxyEventV2, Result>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .handler(async (event, context) => {
      const d = await deps();
      const raw = event.body ?? '';
      // a body far over the limit is refused before it is even decoded
      if (raw.length > (d.maxBodyBytes * 4) / 3 + 4) {
        countOutcome('HttpIngress', 'rejected-size');
        return { statusCode: 413, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: `body over ${d.maxBodyBytes} bytes` }) };
      }
      const r = await handleHttpInteraction(
        {
          method: event.requestContext.http.method,
          headers: event.headers,
          body: Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8'),
          applicationId: event.pathParameters?.applicationId,
          account: context.invokedFunctionArn.split(':')[4],
        },
        {
          ...d,
          onOutcome: (o) => countOutcome('HttpIngress', o),
          onError: (what, err) => coreLogger.warn(what, { error: errorMessage(err).slice(0, 300) }),
        },
      );
      return { statusCode: r.status, headers: r.headers, body: r.body };
    });
}

export const handler = httpIngressHandler(httpIngressDeps);
