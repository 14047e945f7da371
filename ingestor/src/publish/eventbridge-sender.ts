/** The real sender: EventBridge PutEvents, one request per batch; per-entry errors mapped in order. */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { PutEventsEntry } from '../../../lib/contract';
import type { EventSender, PutResult } from './publisher';

export class EventBridgeSender implements EventSender {
  constructor(private readonly client: EventBridgeClient) {}

  async put(entries: PutEventsEntry[]): Promise<PutResult> {
    const out = await this.client.send(new PutEventsCommand({ Entries: entries }));
    const results = out.Entries ?? [];
    return {
      errors: entries.map((_, i) => {
        const r = results[i];
        if (!r) return { code: 'InternalFailure', message: 'no result for this entry' };
        return r.ErrorCode ? { code: r.ErrorCode, message: r.ErrorMessage } : undefined;
      }),
    };
  }
}
