/**
 * AWS SDK client settings for the local AWS-compatible endpoint (MiniStack, LocalStack or moto).
 * In AWS (no AWS_ENDPOINT_URL) it returns {} and the SDK's default chain applies.
 */
export interface LocalAwsConfig {
  endpoint?: string;
  region: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle?: boolean;
}

export const DEFAULT_LOCAL_ENDPOINT = 'http://127.0.0.1:4566';

/** Settings for a client that talks to the local endpoint (AWS_ENDPOINT_URL, default 127.0.0.1:4566). */
export function localAwsConfig(endpoint = process.env.AWS_ENDPOINT_URL ?? DEFAULT_LOCAL_ENDPOINT): Required<LocalAwsConfig> {
  return {
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    // S3 on emulators: bucket in the path, not in the host name
    forcePathStyle: true,
  };
}

/** SQS needs this too: emulators may return queue URLs with AWS host names. */
export const localSqsConfig = (endpoint?: string) => ({ ...localAwsConfig(endpoint), useQueueUrlAsEndpoint: false });
