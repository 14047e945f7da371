/**
 * A record that can never succeed (its envelope or payload breaks the contract) goes to its queue's
 * dead-letter queue on first sight, with the reason as message attributes, instead of being retried
 * maxReceiveCount times and arriving there without one. The DLQ is the one the source queue's own
 * redrive policy names (read once per queue and cached), so the worker needs no configuration and
 * `npm run dlq -- redrive` moves the message back unchanged (the body is the original event).
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
 */
import { GetQueueAttributesCommand, GetQueueUrlCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

export interface PoisonDeadLetter {
  /** stores the record in its DLQ with the reason; throws when it could not (the record is then retried) */
  send(record: SQSRecord, reason: string, envelopeId: string | undefined): Promise<void>;
}

/** arn:aws:sqs:<region>:<account>:<name> */
function queueOfArn(arn: string): { name: string; account: string } {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[2] !== 'sqs') throw new Error(`not an SQS queue ARN: ${arn}`);
  return { account: parts[4] ?? '', name: parts.slice(5).join(':') };
}

export class RedrivePolicyDeadLetter implements PoisonDeadLetter {
  private readonly dlqBySource = new Map<string, Promise<string>>();

  constructor(private readonly sqs: Pick<SQSClient, 'send'>) {}

  private async urlOf(arn: string): Promise<string> {
    const q = queueOfArn(arn);
    const r = await this.sqs.send(new GetQueueUrlCommand({ QueueName: q.name, QueueOwnerAWSAccountId: /^\d{12}$/.test(q.account) ? q.account : undefined }));
    if (!r.QueueUrl) throw new Error(`SQS returned no URL for the queue ${q.name}`);
    return r.QueueUrl;
  }

  /** The DLQ URL of a source queue, from its redrive policy. */
  private dlqOf(sourceArn: string): Promise<string> {
    let p = this.dlqBySource.get(sourceArn);
    if (!p) {
      p = (async () => {
        const source = await this.urlOf(sourceArn);
        const attrs = await this.sqs.send(new GetQueueAttributesCommand({ QueueUrl: source, AttributeNames: ['RedrivePolicy'] }));
        const policy = attrs.Attributes?.RedrivePolicy;
        if (!policy) throw new Error(`queue ${sourceArn} has no redrive policy: it has no dead-letter queue to send a poison record to`);
        return this.urlOf((JSON.parse(policy) as { deadLetterTargetArn: string }).deadLetterTargetArn);
      })();
      p.catch(() => this.dlqBySource.delete(sourceArn)); // asked again next time
      this.dlqBySource.set(sourceArn, p);
    }
    return p;
  }

  async send(record: SQSRecord, reason: string, envelopeId: string | undefined): Promise<void> {
    const dlq = await this.dlqOf(record.eventSourceARN);
    const text = (v: string) => ({ DataType: 'String', StringValue: v.slice(0, 1024) });
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: dlq,
        MessageBody: record.body,
        MessageAttributes: {
          reason: text(reason),
          ...(envelopeId ? { envelopeId: text(envelopeId) } : {}),
          sourceQueue: text(record.eventSourceARN),
          receiveCount: text(record.attributes.ApproximateReceiveCount),
          deadLetteredAt: text(new Date().toISOString()),
        },
      }),
    );
  }
}
