import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { adminConnection, handler } from '../../../db/migrate';
import type { SecretsReader } from '../../../shared/secrets';

const secrets = (value: string): SecretsReader & { asked: string[] } => {
  const asked: string[] = [];
  return {
    asked,
    send: ((cmd: GetSecretValueCommand) => {
      asked.push(String(cmd.input.SecretId));
      return Promise.resolve({ SecretString: value });
    }) as SecretsReader['send'],
  };
};

describe('the migrator in AWS', () => {
  it('connects as the instance admin from its generated secret, over TLS that verifies the certificate', async () => {
    const sm = secrets(JSON.stringify({ username: 'admin', password: 'pw', host: 'db.internal', port: 5432, engine: 'postgres' }));
    const conn = await adminConnection({ ADMIN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:admin', DB_NAME: 'gp' }, sm);
    expect(conn).toMatchObject({ host: 'db.internal', port: 5432, user: 'admin', password: 'pw', database: 'gp', ssl: { rejectUnauthorized: true } });
    expect(sm.asked).toEqual(['arn:aws:secretsmanager:us-east-1:1:secret:admin']);
  });

  it('names what is missing from the secret, and the variable when there is no secret', async () => {
    await expect(adminConnection({ ADMIN_SECRET_ARN: 'arn:x' }, secrets('{"username":"admin"}'))).rejects.toThrow(/lacks password, host, port/);
    await expect(adminConnection({}, secrets('{}'))).rejects.toThrow(/ADMIN_SECRET_ARN is not set/);
  });

  it('leaves the database alone when the stack deletes the resource', async () => {
    const event = { RequestType: 'Delete', PhysicalResourceId: 'database-migrations' } as CloudFormationCustomResourceEvent;
    expect(await handler(event)).toEqual({ PhysicalResourceId: 'database-migrations' });
  });
});
