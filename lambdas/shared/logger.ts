/** One Powertools logger per container (structured JSON, service name from POWERTOOLS_SERVICE_NAME). */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'discord-gateway-proxy' });

/** The logger shape the pure cores take (plain objects in unit tests). */
export interface CoreLogger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

export const coreLogger: CoreLogger = {
  info: (m, e) => logger.info(m, e ?? {}),
  warn: (m, e) => logger.warn(m, e ?? {}),
  error: (m, e) => logger.error(m, e ?? {}),
};
