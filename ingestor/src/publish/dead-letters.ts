/**
 * The ingestor's dead-letter store, durable in AWS: an S3 object per event that can never be
 * published (EventBridge refused it for good, it is malformed, its spool record is corrupt), with the
 * reason, the envelope id and the event. Local disk is never the last resting place: a Fargate task's
 * disk dies with it. A write that fails is retried with backoff until it succeeds or the process
 * stops; only a stored dead letter lets the watermark pass its event (DESIGN.md section 3), so a
 * restart before that replays it from Discord.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PutEventsEntry } from '../../../lib/contract';
import type { EntryMeta } from './types';

/** Why an event was dead-lettered: the metric's Reason dimension (a small fixed set). */
export type DeadLetterReason = 'EventBridgeRefused' | 'Malformed' | 'ClaimCheckFailed' | 'SpoolCorrupt' | 'CommandUnreadable';

export interface DeadLetter {
  reason: DeadLetterReason;
  /** what happened, for a person */
  detail: string;
  /** what is known of the event (a malformed dispatch may have no seq) */
  meta: Partial<EntryMeta>;
  entry?: PutEventsEntry;
  /** the event as received, when it could not be wrapped (JSON text, or base64 of raw bytes) */
  raw?: string;
}

export interface DeadLetterStoreOptions {
  bucket: string;
  /** @default ingestor-dead-letters/ */
  prefix?: string;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onRetry?: (err: unknown, attempt: number) => void;
}

export class DeadLetterStore {
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** dead letters waiting for S3 */
  pending = 0;
  stored = 0;

  constructor(
    private readonly s3: S3Client,
    private readonly opts: DeadLetterStoreOptions,
  ) {}

  /** The object key: by day and reason, so an operator lists one kind at a time. */
  key(dl: DeadLetter, at: Date): string {
    const id = dl.meta.id ?? `${dl.meta.shardId ?? 'x'}-${dl.meta.seq ?? 'x'}-${at.getTime()}`;
    return `${this.opts.prefix ?? 'ingestor-dead-letters/'}${at.toISOString().slice(0, 10)}/${dl.reason}/${id}.json`;
  }

  /** Resolves with the key once stored; rejects only when the store was stopped first. */
  store(dl: DeadLetter): Promise<string> {
    const at = new Date();
    const key = this.key(dl, at);
    const body = JSON.stringify({ at: at.toISOString(), reason: dl.reason, detail: dl.detail, envelopeId: dl.meta.id ?? null, meta: dl.meta, entry: dl.entry ?? null, raw: dl.raw ?? null });
    this.pending++;
    return new Promise<string>((resolve, reject) => {
      const attempt = (n: number) => {
        if (this.stopped) {
          this.pending--;
          reject(new Error('dead-letter store stopped before the write succeeded'));
          return;
        }
        this.s3.send(new PutObjectCommand({ Bucket: this.opts.bucket, Key: key, Body: body, ContentType: 'application/json' })).then(
          () => {
            this.pending--;
            this.stored++;
            resolve(key);
          },
          (err: unknown) => {
            this.opts.onRetry?.(err, n);
            const wait = Math.min(this.opts.maxBackoffMs ?? 30_000, (this.opts.baseBackoffMs ?? 200) * 2 ** Math.min(n, 16));
            const t = setTimeout(() => {
              this.timers.delete(t);
              attempt(n + 1);
            }, wait);
            this.timers.add(t);
          },
        );
      };
      attempt(0);
    });
  }

  /** No more attempts; what is pending stays before the watermark (Discord replays it). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
