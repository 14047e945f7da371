/**
 * One Powertools logger per container (structured JSON, service name from POWERTOOLS_SERVICE_NAME).
 *
 * Correlation (PRD 5.3): while a record is processed its envelope id (and type, replay name) sits in
 * an AsyncLocalStorage context (`withCorrelation`), and every line written through `coreLogger` carries
 * it as structured fields, so a handler's or a REST call's log line needs no id passed down. Records of
 * one batch run concurrently, which is why this is not Powertools' appendKeys (one set per container).
 *
 * GATEWAY_PROXY_LOG_FILE (local runs only; Lambda never sets it): the same JSON lines are appended to
 * that file instead of stdout, so the local pipeline's screen stays readable and `npm run trace` can
 * read them back.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync } from 'node:fs';
import { Logger, type LogItem } from '@aws-lambda-powertools/logger';

/** Powertools' logger, printing to a file when one is configured (printLog is its documented extension point). */
class WorkerLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    const file = process.env.GATEWAY_PROXY_LOG_FILE;
    if (!file) {
      super.printLog(logLevel, log);
      return;
    }
    log.prepareForPrint();
    try {
      appendFileSync(file, `${JSON.stringify(log.getAttributes())}\n`);
    } catch {
      super.printLog(logLevel, log); // the file cannot be written: the line still goes out
    }
  }
}

export const logger = new WorkerLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'discord-gateway-proxy' });

/** The fields every log line of one record carries. */
export interface Correlation {
  envelopeId?: string;
  type?: string;
  /** EventBridge's replay-name when the event came from an archive replay */
  replayName?: string;
}

const correlation = new AsyncLocalStorage<Correlation>();

/** Runs `fn` with `c` attached to every coreLogger line written inside it (also across awaits). */
export function withCorrelation<T>(c: Correlation, fn: () => T): T {
  return correlation.run(c, fn);
}

export function currentCorrelation(): Correlation | undefined {
  return correlation.getStore();
}

/** The logger shape the pure cores take (plain objects in unit tests). */
export interface CoreLogger {
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
}

const withContext = (extra?: Record<string, unknown>): Record<string, unknown> => {
  const c = correlation.getStore();
  return c ? { ...c, ...extra } : (extra ?? {});
};

export const coreLogger: CoreLogger = {
  info: (m, e) => logger.info(m, withContext(e)),
  warn: (m, e) => logger.warn(m, withContext(e)),
  error: (m, e) => logger.error(m, withContext(e)),
};
