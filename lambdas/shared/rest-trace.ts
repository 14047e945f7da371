/**
 * The REST reply hop of the audit trail: every request a worker makes to Discord (interaction
 * callbacks, webhook edits, bot-token calls) is logged with its status and duration, carrying the
 * envelope id of the record that made it.
 *
 * It listens on undici's diagnostics channels (https://undici.nodejs.org/#/docs/api/DiagnosticsChannel),
 * which @discordjs/rest's requests go through, so no REST client needs wrapping. `undici:request:create`
 * is published synchronously where the request starts, inside the record's AsyncLocalStorage context,
 * so the correlation is taken there; the response arrives outside it.
 *
 * Tokens never reach the log: the path is reduced to its route, interaction and webhook tokens replaced
 * by `:token`.
 */
import diagnostics from 'node:diagnostics_channel';
import { currentCorrelation, type CoreLogger, type Correlation } from './logger';

interface UndiciRequest {
  origin?: unknown;
  method?: string;
  path?: string;
}

/** `/interactions/<id>/<token>/callback` -> `/interactions/:id/:token/callback`; ids become `:id`. */
export function redactedRoute(method: string, path: string): string {
  const [pathOnly = ''] = path.split('?');
  const clean = pathOnly.replace(/\/+$/, '').replace(/^\/api(\/v\d+)?(?=\/)/, '');
  const route = clean.replace(/\/(interactions|webhooks)\/(\d+)\/[^/]+/, '/$1/$2/:token').replace(/\/\d{16,20}(?=\/|$)/g, '/:id');
  return `${method.toUpperCase()} ${route}`;
}

/** undici's request origin: a string or a URL. */
function originText(origin: unknown): string {
  if (typeof origin === 'string') return origin;
  return origin instanceof URL ? origin.origin : '';
}

const started = new WeakMap<object, { at: number; correlation: Correlation }>();
let installed = false;

/** Subscribes once per process; lines go to `log` (the worker's coreLogger). */
export function installRestTrace(log: Pick<CoreLogger, 'info'>, isDiscord: (origin: string) => boolean = () => true): void {
  if (installed) return;
  installed = true;
  diagnostics.subscribe('undici:request:create', (msg) => {
    const { request } = msg as { request: UndiciRequest };
    const correlation = currentCorrelation();
    if (correlation?.envelopeId && isDiscord(originText(request.origin))) started.set(request, { at: Date.now(), correlation });
  });
  diagnostics.subscribe('undici:request:headers', (msg) => {
    const { request, response } = msg as { request: UndiciRequest; response: { statusCode: number } };
    const s = started.get(request);
    if (!s) return;
    started.delete(request);
    log.info('rest reply', {
      ...s.correlation,
      hop: 'rest.reply',
      route: redactedRoute(request.method ?? 'GET', request.path ?? '/'),
      status: response.statusCode,
      durationMs: Date.now() - s.at,
    });
  });
}
