/**
 * One dispatch through the pipeline: classify (drop what no tier wants) -> envelope (claim check
 * when oversize) -> publish, with the watermark told what must reach the bus before it may pass.
 * What can never be published is dead-lettered durably in AWS with its reason, and only then passes
 * the watermark. Nothing here throws on input; the gateway stage also hands anything thrown to
 * `onDispatchError`, which dead-letters the raw payload.
 */
import { envelopeId, entrySize, toPutEventsEntry, wrapDispatch, type InlineEnvelope } from '../../lib/contract';
import { errorText } from '../../shared/error-text';
import { readDispatch, type Router } from './classify/router';
import type { GuildCounter } from './health/guilds';
import type { IngestorMetrics } from './metrics';
import type { ClaimChecker } from './publish/claim-check';
import type { DeadLetter, DeadLetterStore } from './publish/dead-letters';
import type { Publisher } from './publish/publisher';
import type { EntryMeta } from './publish/types';
import type { WatermarkTracker } from './publish/watermark';

export interface IngestDeps {
  appId: string;
  /** the shard set's fleet key when it is not the application id */
  setKey?: string;
  /** how envelope ids are made: by content while two shard sets overlap @default always 'session' */
  idFrom?: () => 'session' | 'content';
  eventBusName: string;
  route: Router;
  sessionId: (shardId: number) => string;
  watermarks: Pick<WatermarkTracker, 'seen' | 'pending' | 'accepted'>;
  guilds: Pick<GuildCounter, 'observe'>;
  claimChecker: Pick<ClaimChecker, 'thresholdBytes' | 'store'>;
  publisher: Pick<Publisher, 'enqueue'>;
  deadLetters: Pick<DeadLetterStore, 'store'>;
  metrics: Pick<IngestorMetrics, 'onReceived' | 'onDropped' | 'onDeadLettered' | 'onClaimChecked'>;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** attempts of an S3 claim check before the event is dead-lettered @default 5 */
  claimCheckAttempts?: number;
  claimCheckBackoffMs?: number;
  now?: () => number;
}

/** The classify -> envelope -> publish path of one application's dispatches. */
class IngestStage {
  /** whether the dispatch being handled was already marked pending (handling is synchronous) */
  private markedPending = false;
  private readonly now: () => number;
  private readonly attempts: number;

  constructor(private readonly deps: IngestDeps) {
    this.now = deps.now ?? Date.now;
    this.attempts = deps.claimCheckAttempts ?? 5;
  }

  /** Stores the dead letter in AWS, then lets the watermark pass the event (if it has a seq). */
  readonly deadLetter = (dl: DeadLetter): void => {
    const deps = this.deps;
    deps.metrics.onDeadLettered(dl.reason);
    deps.log('error', 'event dead-lettered', { reason: dl.reason, detail: dl.detail, envelopeId: dl.meta.id, type: dl.meta.type, shardId: dl.meta.shardId, seq: dl.meta.seq });
    deps.deadLetters.store(dl).then(
      () => {
        const { shardId, sessionId, seq } = dl.meta;
        if (shardId !== undefined && sessionId !== undefined && seq !== undefined) deps.watermarks.accepted(shardId, sessionId, seq);
      },
      () => undefined, // stopped before S3 took it: the watermark stays before it, Discord replays it
    );
  };

  readonly onDispatch = (payload: unknown, shardId: number): void => {
    this.markedPending = false;
    try {
      this.handle(payload, shardId);
    } catch (err) {
      this.failed(payload, shardId, err, this.markedPending);
    }
  };

  readonly onDispatchError = (payload: unknown, shardId: number, err: unknown): void => this.failed(payload, shardId, err, false);

  private claimCheck(env: InlineEnvelope, meta: EntryMeta, priority: boolean, attempt = 1): void {
    const deps = this.deps;
    deps.claimChecker.store(env).then(
      (checked) => {
        deps.metrics.onClaimChecked();
        const small = toPutEventsEntry(checked, deps.eventBusName);
        deps.publisher.enqueue(small, meta, priority, entrySize(small));
      },
      (err: unknown) => {
        const retryable = (err as { retryable?: boolean }).retryable !== false;
        if (retryable && attempt < this.attempts) {
          setTimeout(() => this.claimCheck(env, meta, priority, attempt + 1), (deps.claimCheckBackoffMs ?? 200) * 2 ** attempt);
          return;
        }
        this.deadLetter({ reason: 'ClaimCheckFailed', detail: errorText(err), meta, raw: JSON.stringify(env) });
      },
    );
  }

  /** Anything thrown while handling a dispatch: dead-letter the payload as it came. */
  private failed(payload: unknown, shardId: number, err: unknown, markedPending: boolean): void {
    const { appId } = this.deps;
    const read = readDispatch(payload);
    const sessionId = this.deps.sessionId(shardId);
    const seq = read.ok ? read.header.seq : read.seq;
    const type = read.ok ? read.header.type : read.type;
    if (seq !== undefined && !markedPending) this.deps.watermarks.pending(shardId, sessionId, seq);
    this.deadLetter({ reason: 'Malformed', detail: `handling the dispatch threw: ${errorText(err)}`, meta: { appId, shardId, sessionId, seq, type, id: seq === undefined ? undefined : envelopeId(appId, shardId, sessionId, seq) }, raw: safeJson(payload) });
  }

  private handle(payload: unknown, shardId: number): void {
    const deps = this.deps;
    const read = readDispatch(payload);
    const sessionId = deps.sessionId(shardId);
    if (!read.ok) {
      this.unreadable(read, payload, shardId, sessionId);
      return;
    }
    const { type, seq, data } = read.header;
    deps.metrics.onReceived(type);
    deps.watermarks.seen(shardId, sessionId, seq);
    deps.guilds.observe(type, data, shardId);
    const route = deps.route(type);
    if (!route) {
      deps.metrics.onDropped();
      return;
    }
    deps.watermarks.pending(shardId, sessionId, seq);
    this.markedPending = true;
    const receivedAt = this.now();
    let env: InlineEnvelope;
    try {
      env = wrapDispatch({ appId: deps.appId, shardId, sessionId, seq, type, receivedAt, data, idFrom: deps.idFrom?.() });
    } catch (err) {
      const meta: EntryMeta = { appId: deps.appId, setKey: deps.setKey, shardId, sessionId, seq, type, id: envelopeId(deps.appId, shardId, sessionId, seq), receivedAt };
      this.deadLetter({ reason: 'Malformed', detail: errorText(err), meta, raw: safeJson(payload) });
      return;
    }
    // one object of one shape per event (setKey undefined for the application's first set: JSON leaves it out)
    const meta: EntryMeta = { appId: deps.appId, setKey: deps.setKey, shardId, sessionId, seq, type, id: env.id, receivedAt };
    // serialize once; only an oversize entry is serialized again, after the claim check
    const entry = toPutEventsEntry(env, deps.eventBusName);
    const size = entrySize(entry);
    if (size <= deps.claimChecker.thresholdBytes) deps.publisher.enqueue(entry, meta, route.priority, size);
    else this.claimCheck(env, meta, route.priority);
  }

  /** A frame without a usable name or sequence: dead-lettered (and let past the watermark once stored). */
  private unreadable(read: Extract<ReturnType<typeof readDispatch>, { ok: false }>, payload: unknown, shardId: number, sessionId: string): void {
    const deps = this.deps;
    deps.metrics.onReceived(read.type ?? 'UNKNOWN');
    if (read.seq !== undefined) {
      deps.watermarks.pending(shardId, sessionId, read.seq);
      this.markedPending = true;
    }
    const id = read.seq !== undefined ? envelopeId(deps.appId, shardId, sessionId, read.seq) : undefined;
    this.deadLetter({ reason: 'Malformed', detail: read.problem, meta: { appId: deps.appId, shardId, sessionId, seq: read.seq, type: read.type, id }, raw: safeJson(payload) });
  }
}

export function createIngest(deps: IngestDeps) {
  const stage = new IngestStage(deps);
  return { onDispatch: stage.onDispatch, onDispatchError: stage.onDispatchError, deadLetter: stage.deadLetter };
}

function safeJson(v: unknown): string {
  try {
    // JSON.stringify returns undefined for these (its type says string)
    return v === undefined || typeof v === 'function' ? String(v) : JSON.stringify(v);
  } catch {
    return String(v);
  }
}
