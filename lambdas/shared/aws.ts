/**
 * SDK client settings of a worker container: the SDK's default chain in AWS; with AWS_ENDPOINT_URL set
 * (the local emulator) path-style S3 addressing too, which emulators need.
 */
export const awsClientConfig = (env: Record<string, string | undefined> = process.env): { forcePathStyle?: boolean } =>
  env.AWS_ENDPOINT_URL ? { forcePathStyle: true } : {};
