/**
 * EventBridge entries: how an envelope becomes a PutEvents entry, the exact size EventBridge will
 * count for it, and how the event looks when a rule delivers it to an SQS target.
 * Size rule: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html
 */
import { z } from 'zod';
import { type Envelope, parseEnvelope } from './envelope';
import { ContractError } from './errors';
import { EVENT_SOURCE } from './routing';

/** EventBridge's classic per-entry (and per-request) limit. The 2026 raise to 1 MB is opt-in per bus;
 * the claim-check threshold is configurable and defaults to this. */
export const DEFAULT_MAX_ENTRY_BYTES = 256 * 1024;
/** PutEvents takes at most 10 entries per request. */
export const MAX_ENTRIES_PER_PUT = 10;

/** The shape of a PutEvents request entry (structurally the SDK's PutEventsRequestEntry). */
export interface PutEventsEntry {
  Source: string;
  DetailType: string;
  Detail: string;
  EventBusName?: string;
  Time?: Date;
  Resources?: string[];
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

/**
 * The size EventBridge counts for an entry: 14 bytes for Time when set, plus the UTF-8 bytes of
 * Source, DetailType, Detail and each Resource. EventBusName is not counted.
 */
export function entrySize(entry: Pick<PutEventsEntry, 'Source' | 'DetailType' | 'Detail' | 'Time' | 'Resources'>): number {
  let size = entry.Time ? 14 : 0;
  size += utf8(entry.Source) + utf8(entry.DetailType) + utf8(entry.Detail);
  for (const r of entry.Resources ?? []) size += utf8(r);
  return size;
}

/** The PutEvents entry for an envelope. */
export function toPutEventsEntry(envelope: Envelope, eventBusName?: string): PutEventsEntry {
  const entry: PutEventsEntry = { Source: EVENT_SOURCE, DetailType: envelope.type, Detail: JSON.stringify(envelope) };
  if (eventBusName) entry.EventBusName = eventBusName;
  return entry;
}

/** The size an envelope's entry will have, without building the entry twice on hot paths. */
export const envelopeEntrySize = (envelope: Envelope): number => utf8(EVENT_SOURCE) + utf8(envelope.type) + utf8(JSON.stringify(envelope));

/** An EventBridge event as an SQS target receives it in the message body. */
export const EventBridgeEventSchema = z.object({
  version: z.string(),
  id: z.string(),
  'detail-type': z.string(),
  source: z.string(),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
  detail: z.unknown(),
});

export interface DeliveredEvent {
  /** EventBridge's own event id (differs on every PutEvents, unlike the envelope id). */
  eventId: string;
  envelope: Envelope;
}

/**
 * Parses an SQS message body delivered by a rule into the envelope it carries.
 * Throws INVALID_EVENT for a body that is not an EventBridge event from our source, and
 * INVALID_ENVELOPE for a detail that fails the envelope schema.
 */
export function parseDeliveredEvent(body: string): DeliveredEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    throw new ContractError('INVALID_EVENT', 'message body is not JSON', [(e as Error).message]);
  }
  const r = EventBridgeEventSchema.safeParse(json);
  if (!r.success) {
    throw new ContractError(
      'INVALID_EVENT',
      'message body is not an EventBridge event',
      r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    );
  }
  if (r.data.source !== EVENT_SOURCE) {
    throw new ContractError('INVALID_EVENT', `unexpected event source ${JSON.stringify(r.data.source)}`, [`expected ${EVENT_SOURCE}`]);
  }
  const envelope = parseEnvelope(r.data.detail);
  if (envelope.type !== r.data['detail-type']) {
    throw new ContractError('INVALID_EVENT', 'detail-type does not match envelope type', [`${r.data['detail-type']} != ${envelope.type}`]);
  }
  return { eventId: r.data.id, envelope };
}
