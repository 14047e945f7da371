/**
 * Moves messages from a DLQ back to its queue: receive, send, delete, until the DLQ is empty.
 * (Neither emulator implements StartMessageMoveTask; in AWS the same loop works, or use the console's
 * "Start DLQ redrive".) Each message is deleted from the DLQ only after it was sent to the queue.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

export async function redrive(sqs: SQSClient, dlqUrl: string, queueUrl: string, opts: { max?: number } = {}): Promise<number> {
  let moved = 0;
  const max = opts.max ?? Infinity;
  while (moved < max) {
    const r = await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 30 }));
    const msgs = r.Messages ?? [];
    if (msgs.length === 0) break;
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: msgs.map((m, i) => ({ Id: String(i), MessageBody: m.Body! })) }));
    const ok = new Set((sent.Successful ?? []).map((s) => s.Id));
    const done = msgs.filter((_, i) => ok.has(String(i)));
    if (done.length) await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    moved += done.length;
    if (done.length < msgs.length) throw new Error(`redrive: ${msgs.length - done.length} messages could not be sent back to ${queueUrl}; they stay in the DLQ`);
  }
  return moved;
}
