/**
 * The classify stage: reads a dispatch's header without trusting its shape, and routes it by the
 * routing table (lib/contract): the tier that wants it and whether it is top priority, or nothing
 * (dropped before any AWS call).
 */
import { createClassifier, type RoutingTable, type TierName } from '../../../lib/contract';

/** What the pipeline needs of a dispatch before wrapping it. */
export interface DispatchHeader {
  type: string;
  seq: number;
  data: unknown;
}

export type ReadDispatch = { ok: true; header: DispatchHeader } | { ok: false; problem: string; type?: string; seq?: number };

/** JSON.stringify returns undefined for undefined (its type says string) */
const shown = (v: unknown): string => (v === undefined ? 'undefined' : JSON.stringify(v));

/** The op-0 frame's `t` and `s`, checked; `d` is the envelope stage's to check. Never throws. */
export function readDispatch(payload: unknown): ReadDispatch {
  if (typeof payload !== 'object' || payload === null) return { ok: false, problem: 'the dispatch is not an object' };
  const p = payload as { t?: unknown; s?: unknown; d?: unknown };
  const type = typeof p.t === 'string' && p.t.length > 0 ? p.t : undefined;
  const seq = typeof p.s === 'number' && Number.isSafeInteger(p.s) && p.s >= 0 ? p.s : undefined;
  if (type === undefined) return { ok: false, problem: `the dispatch has no event name (t: ${shown(p.t)})`, seq };
  if (seq === undefined) return { ok: false, problem: `the dispatch has no sequence number (s: ${shown(p.s)})`, type };
  return { ok: true, header: { type, seq, data: p.d } };
}

export interface Route {
  tier: TierName;
  /** the top-priority tier (interactions) goes first through the publisher and never to the spool */
  priority: boolean;
}

export type Router = (type: string) => Route | undefined;

export function createRouter(routing: RoutingTable): Router {
  const classify = createClassifier(routing);
  const top = Math.min(...Object.values(routing).map((r) => r.priority));
  const routes = new Map<string, Route | undefined>();
  return (type) => {
    if (routes.has(type)) return routes.get(type);
    const tier = classify(type);
    const route = tier ? { tier, priority: routing[tier].priority === top } : undefined;
    if (routes.size < 1024) routes.set(type, route); // Discord has a few hundred event names; never grow on junk
    return route;
  };
}
