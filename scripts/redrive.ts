/**
 * Dead-letter queue operations shared by `npm run dlq` and the tests: move messages back (redrive)
 * and look at them with their reason (peek).
 *
 * Redrive receives, sends, then deletes each message, until the DLQ is empty. (The emulators lack
 * StartMessageMoveTask; in AWS the same loop works, or use the console's "Start DLQ redrive".) A
 * message is deleted from the DLQ only after it was sent to the queue.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';

/** The received messages with the two fields SQS always returns and the SDK types as optional. */
function received(msgs: Message[] | undefined): (Message & { MessageId: string; ReceiptHandle: string })[] {
  return (msgs ?? []).map(({ MessageId, ReceiptHandle, ...m }) => {
    if (MessageId === undefined || ReceiptHandle === undefined) throw new Error(`ReceiveMessage returned a message without ${MessageId === undefined ? 'MessageId' : 'ReceiptHandle'}`);
    return { ...m, MessageId, ReceiptHandle };
  });
}

export async function redrive(sqs: Pick<SQSClient, 'send'>, dlqUrl: string, queueUrl: string, opts: { max?: number } = {}): Promise<number> {
  let moved = 0;
  const max = opts.max ?? Infinity;
  // a record that is still poison comes straight back (the worker dead-letters it on first sight):
  // a message that arrived after the redrive began is not moved again, or the loop would never end
  const began = Date.now();
  const seen = new Set<string>();
  while (moved < max) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: Math.min(10, max - moved), WaitTimeSeconds: 1, VisibilityTimeout: 30, MessageSystemAttributeNames: ['SentTimestamp'] }));
    const all = received(r.Messages);
    const msgs = all.filter((m) => !seen.has(m.MessageId) && Number(m.Attributes?.SentTimestamp ?? 0) < began);
    for (const m of all) seen.add(m.MessageId);
    if (msgs.length < all.length) {
      // put the newcomers back at once: they wait for the next redrive
      const back = all.filter((m) => !msgs.includes(m));
      await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: dlqUrl, Entries: back.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })) })).catch(() => undefined);
    }
    if (msgs.length === 0) break;
    // SQS refuses an empty body: such an entry fails, is reported below and stays in the DLQ
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: msgs.map((m, i) => ({ Id: String(i), MessageBody: m.Body ?? '' })) }));
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = msgs.filter((_, i) => ok.has(String(i)));
    if (done.length) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    moved += done.length;
    if (done.length < msgs.length) throw new Error(`redrive: ${msgs.length - done.length} messages could not be sent back to ${queueUrl}; they stay in the DLQ`);
  }
  return moved;
}

export interface PeekedMessage {
  messageId: string;
  /** why the worker dead-lettered it (message attribute `reason`), when it did so itself */
  reason?: string;
  envelopeId?: string;
  sourceQueue?: string;
  receiveCount?: string;
  deadLetteredAt?: string;
  body: string;
}

/**
 * Up to `max` messages of a DLQ with their attributes, without taking them: each is made visible again
 * at once. A message the worker dead-lettered on first sight carries `reason`; one SQS moved after
 * maxReceiveCount failed receives carries none.
 */
export async function peek(sqs: Pick<SQSClient, 'send'>, dlqUrl: string, opts: { max?: number } = {}): Promise<PeekedMessage[]> {
  const max = opts.max ?? 10;
  const out: PeekedMessage[] = [];
  const seen = new Set<string>();
  const held: { id: string; receipt: string }[] = [];
  try {
    while (out.length < max) {
      const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: Math.min(10, max - out.length), WaitTimeSeconds: 1, VisibilityTimeout: 20, MessageAttributeNames: ['All'] }));
      const msgs = received(r.Messages).filter((m) => !seen.has(m.MessageId));
      if (msgs.length === 0) break;
      for (const m of msgs) {
        seen.add(m.MessageId);
        held.push({ id: m.MessageId, receipt: m.ReceiptHandle });
        const a = (k: string) => m.MessageAttributes?.[k]?.StringValue;
        out.push({ messageId: m.MessageId, reason: a('reason'), envelopeId: a('envelopeId'), sourceQueue: a('sourceQueue'), receiveCount: a('receiveCount'), deadLetteredAt: a('deadLetteredAt'), body: m.Body ?? '' });
      }
    }
  } finally {
    for (let i = 0; i < held.length; i += 10) {
      const chunk = held.slice(i, i + 10);
      await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: dlqUrl, Entries: chunk.map((h, j) => ({ Id: String(j), ReceiptHandle: h.receipt, VisibilityTimeout: 0 })) })).catch(() => undefined);
    }
  }
  return out;
}
