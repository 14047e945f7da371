/**
 * The publish stage's vocabulary, shared by the publisher, the spool, the senders and the dead-letter
 * store (its own module, so none of them imports another for a type).
 */
import type { PutEventsEntry } from '../../../lib/contract';

/** Where an entry came from: enough to move the watermark and to correlate logs. */
export interface EntryMeta {
  appId: string;
  /** the shard set's fleet key when it is not the application id (a set started by a reshard) */
  setKey?: string;
  shardId: number;
  sessionId: string;
  seq: number;
  type: string;
  id: string;
  receivedAt: number;
}

/** The fleet key of the shard set an entry came from (leases, watermarks and resume points live under it). */
export const setKeyOf = (meta: Pick<EntryMeta, 'appId' | 'setKey'>): string => meta.setKey ?? meta.appId;

export interface QueuedEntry {
  entry: PutEventsEntry;
  size: number;
  meta: EntryMeta;
  attempts: number;
  notBefore: number;
  /** 0: priority lane, 1: normal */
  lane?: 0 | 1;
}

export interface PutResult {
  /** one per entry, in order: undefined when accepted, else the error code and message */
  errors: Array<{ code: string; message?: string } | undefined>;
}

/** Sends one PutEvents request. */
export interface EventSender {
  put(entries: PutEventsEntry[]): Promise<PutResult>;
  /** closes what the sender holds open (keep-alive connections) */
  destroy?(): Promise<void>;
}

/** A record the spool found unreadable: its bytes, for the dead-letter store. */
export interface CorruptSpoolRecord {
  file: string;
  offset: number;
  bytes: Buffer;
  reason: string;
}

/** The bounded overflow of the memory buffer, in order. */
export interface Spool {
  /** entries on disk */
  readonly depth: number;
  readonly bytes: number;
  readonly maxBytes: number;
  /** whether an entry of this many bytes fits */
  hasRoomFor(bytes: number): boolean;
  /** stores the entry; false when it does not fit */
  append(item: QueuedEntry): boolean;
  /** the oldest segment's readable entries (removed from disk) */
  takeSegment(): QueuedEntry[];
}

/** PutEvents' per-entry results, in order; an entry without a result is InternalFailure (retried). */
export function putResult(count: number, results: Array<{ ErrorCode?: string; ErrorMessage?: string }> = []): PutResult {
  return {
    errors: Array.from({ length: count }, (_, i) => {
      const r = results[i];
      if (!r) return { code: 'InternalFailure', message: 'no result for this entry' };
      return r.ErrorCode ? { code: r.ErrorCode, message: r.ErrorMessage } : undefined;
    }),
  };
}
