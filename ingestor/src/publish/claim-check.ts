/**
 * Claim check for oversize events: when an entry would exceed the threshold, the dispatch payload is
 * stored in S3 and the envelope carries `dataRef` instead of `data`. Nothing is dropped for size.
 * https://docs.aws.amazon.com/prescriptive-guidance/latest/cloud-design-patterns/claim-check.html
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { envelopeEntrySize, type Envelope, type InlineEnvelope } from '../../../lib/contract';

export class ClaimChecker {
  constructor(
    private readonly s3: S3Client | undefined,
    private readonly bucket: string | undefined,
    readonly thresholdBytes: number,
  ) {}

  /** Closes the S3 client's sockets. */
  destroy(): void {
    this.s3?.destroy();
  }

  /** Stores the payload in S3 and returns the envelope with `dataRef` (the caller measured the size). */
  async store(env: InlineEnvelope): Promise<Envelope> {
    if (!this.s3 || !this.bucket) {
      // no retry can fix configuration: the caller dead-letters at once
      throw Object.assign(new Error(`${env.type} ${env.id} is ${envelopeEntrySize(env)} bytes, over CLAIM_CHECK_THRESHOLD_BYTES=${this.thresholdBytes}, and CLAIM_CHECK_BUCKET is not set`), { retryable: false });
    }
    const body = JSON.stringify(env.data);
    const key = `claim-check/${env.type}/${env.id}.json`;
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }));
    const { data: _data, ...rest } = env;
    return { ...rest, dataRef: { bucket: this.bucket, key, bytes: Buffer.byteLength(body) } };
  }
}
