/**
 * The deploy-time migration step (a CloudFormation custom resource): on Create and Update it applies
 * db/migrations as the admin (000_worker_role creates the worker role with rds_iam), over a direct
 * TLS connection to the instance (not through RDS Proxy: the migrator holds an advisory lock).
 * https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { migrate } from '../../db/migrate';
import { awsDatabaseCa } from '../shared/aws';

const sm = new SecretsManagerClient({});

interface AdminSecret {
  username: string;
  password: string;
  host: string;
  port: number;
  dbname?: string;
}

export const handler = async (event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> => {
  const physicalId = 'database-migrations';
  if (event.RequestType === 'Delete') return { PhysicalResourceId: physicalId };
  const secretArn = process.env.ADMIN_SECRET_ARN;
  const database = process.env.DB_NAME ?? 'gateway_proxy';
  if (!secretArn) throw new Error('ADMIN_SECRET_ARN is not set');
  const raw = (await sm.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  if (!raw) throw new Error(`secret ${secretArn} has no SecretString`);
  const s = JSON.parse(raw) as AdminSecret;
  // the instance presents an RDS CA certificate: Node.js 20+ Lambda runtimes do not load that bundle by default
  const conn = { host: s.host, port: Number(s.port), user: s.username, password: s.password, database, ssl: { rejectUnauthorized: true, ca: awsDatabaseCa() } };

  const r = await migrate(conn);
  console.log(JSON.stringify({ msg: 'migrations', applied: r.applied, alreadyApplied: r.alreadyApplied }));
  return { PhysicalResourceId: physicalId, Data: { Applied: r.applied.join(',') } };
};
