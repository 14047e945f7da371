/** An SQS record as a tier queue hands it to a worker: the EventBridge event around the envelope. */
import type { SQSRecord } from 'aws-lambda';
import type { Envelope } from '../../lib/contract';

export function envelopeRecord(e: Envelope, n: number, queueArn: string): SQSRecord {
  return {
    messageId: `m-${n}`,
    receiptHandle: 'r',
    body: JSON.stringify({ version: '0', id: `eb-${n}`, 'detail-type': e.type, source: 'discord.gateway', account: '1', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: e }),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'x', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: 'us-east-1',
  };
}
