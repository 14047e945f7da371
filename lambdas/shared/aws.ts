import { existsSync, readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/**
 * SDK client settings of a worker container: the SDK's default chain in AWS; with AWS_ENDPOINT_URL set
 * (the local emulator) path-style S3 addressing too, which emulators need.
 */
export const awsClientConfig = (env: Record<string, string | undefined> = process.env): { forcePathStyle?: boolean } => (env.AWS_ENDPOINT_URL ? { forcePathStyle: true } : {});

/**
 * CA certificates for TLS to AWS databases: Node's roots plus the Lambda runtime's Amazon bundle
 * (/var/runtime/ca-cert.pem, which holds the Amazon RDS CAs). Node.js 20+ Lambda runtimes no longer
 * load that bundle by default (faster cold starts), so an RDS instance's certificate would not verify;
 * RDS Proxy presents an ACM certificate that Node's own roots already trust.
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html (CA certificate loading)
 */
export function awsDatabaseCa(bundle = '/var/runtime/ca-cert.pem'): string[] | undefined {
  if (!existsSync(bundle)) return undefined; // not in Lambda: Node's roots (and NODE_EXTRA_CA_CERTS) apply
  return [...rootCertificates, readFileSync(bundle, 'utf8')];
}
