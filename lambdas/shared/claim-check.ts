/**
 * Claim checks: the ingestor stores a payload that would make the bus entry too large in S3 and sends
 * `dataRef {bucket, key, bytes}` instead of `data` (the event contract, docs/architecture.md). Workers load it back here,
 * before their core runs, so cores only ever see inline envelopes.
 * https://docs.aws.amazon.com/prescriptive-guidance/latest/cloud-design-patterns/claim-check.html
 *
 * Only the configured bucket (CLAIM_CHECK_BUCKET) is read: an envelope naming another bucket is poison.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ContractError, isClaimChecked, type DataRef, type Envelope, type InlineEnvelope } from '../../lib/contract';
import { awsClientConfig } from './aws';

export type ClaimCheckLoader = (ref: DataRef) => Promise<Record<string, unknown>>;

export function s3ClaimCheckLoader(s3: Pick<S3Client, 'send'>, bucket: string): ClaimCheckLoader {
  return async (ref) => {
    if (ref.bucket !== bucket) throw new ContractError('INVALID_DATA', `dataRef names bucket ${JSON.stringify(ref.bucket)}, not CLAIM_CHECK_BUCKET=${bucket}`);
    const r = await s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
    if (!r.Body) throw new Error(`claim check s3://${ref.bucket}/${ref.key} has no body`);
    const text = await r.Body.transformToString('utf8');
    const data = JSON.parse(text) as unknown;
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ContractError('INVALID_DATA', `s3://${ref.bucket}/${ref.key} holds no JSON object`);
    return data as Record<string, unknown>;
  };
}

/** The envelope with its payload inline: as it came, or loaded from the claim check. */
export async function inlineEnvelope(env: Envelope, load: ClaimCheckLoader | undefined): Promise<InlineEnvelope> {
  if (!isClaimChecked(env)) return env;
  if (!load) throw new ContractError('INVALID_DATA', `${env.type} ${env.id} arrived claim-checked (s3://${env.dataRef.bucket}/${env.dataRef.key}) and CLAIM_CHECK_BUCKET is not set for this worker`);
  const { dataRef, ...rest } = env;
  return { ...rest, data: await load(dataRef) };
}

/** The loader of a worker container: S3 in AWS (or the emulator at AWS_ENDPOINT_URL); none without CLAIM_CHECK_BUCKET. */
export function claimCheckLoaderFor(cfg: { CLAIM_CHECK_BUCKET?: string }): Promise<ClaimCheckLoader | undefined> {
  if (!cfg.CLAIM_CHECK_BUCKET) return Promise.resolve(undefined);
  return Promise.resolve(s3ClaimCheckLoader(new S3Client(awsClientConfig()), cfg.CLAIM_CHECK_BUCKET));
}
