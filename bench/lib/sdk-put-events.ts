/**
 * The benchmark's reference sender: the SDK's PutEventsCommand, one request per batch (the ingestor
 * uses DirectPutEventsSender; `npm run bench` injects this one to compare the two paths).
 */
import { EventBridgeClient, PutEventsCommand, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import { AwsJson1_1Protocol, JsonCodec } from '@aws-sdk/core/protocols';
import type { PutEventsEntry } from '../../lib/contract';
import { putResult, type EventSender, type PutResult } from '../../ingestor/src/publish/types';

/**
 * EventBridge's own protocol (awsJson1_1) with the SDK's JSON.stringify codec instead of its default
 * single-pass writer. The default writes every character of every string in JavaScript; our Detail
 * is one long JSON string per entry, so on the ingestor's hot path that writer alone took more CPU
 * than inflating the gateway frames. Same wire format, same error mapping (the protocol class and
 * its error registries are unchanged; only the body serializer differs).
 */
export class StringifyJson1_1Protocol extends AwsJson1_1Protocol {
  constructor(settings: ConstructorParameters<typeof AwsJson1_1Protocol>[0]) {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the v1 codec is the point: JSON.stringify, where JsonCodec2 (the protocol's default) is the per-character writer this replaces
    super({ ...settings, jsonCodec: new JsonCodec({ timestampFormat: { useTrait: true, default: 7 }, jsonName: false }) });
  }
}

/** The ingestor's EventBridge client: the faster codec and a cached middleware stack (one command, sent thousands of times a second). */
export function createEventBridgeClient(config: EventBridgeClientConfig = {}): EventBridgeClient {
  return new EventBridgeClient({ cacheMiddleware: true, ...config, protocol: StringifyJson1_1Protocol });
}

export class EventBridgeSender implements EventSender {
  constructor(private readonly client: EventBridgeClient) {}

  async put(entries: PutEventsEntry[]): Promise<PutResult> {
    const out = await this.client.send(new PutEventsCommand({ Entries: entries }));
    return putResult(entries.length, out.Entries);
  }
}
