/**
 * The one secrets reader of every process (ingestor task and workers): a Secrets Manager secret that
 * holds one value, as plain text or as JSON with `token` or `password` (what CDK's generated secrets
 * and the console's key/value editor write). Errors name the variable that points at the secret and
 * never contain the value.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets.html
 *
 * Not Powertools' Parameters (getSecret with a cache): every secret here is read once per process,
 * when the client that needs it is built (the Redis connection's AUTH token, the bot token of a REST
 * client), and that client keeps the value for its life, so a cache with a maximum age would have
 * nothing to refresh. The ingestor, which is not a Lambda function, reads through the same function,
 * and its errors name the variable that pointed at the secret.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export type SecretsReader = Pick<SecretsManagerClient, 'send'>;

/** The value of a secret's text; `what` names the variable that pointed at it (for the error). */
export function secretValue(raw: string | undefined, what: string): string {
  const s = (raw ?? '').trim();
  let v = s;
  if (s.startsWith('{')) {
    let j: { token?: unknown; password?: unknown };
    try {
      j = JSON.parse(s) as typeof j;
    } catch {
      throw new Error(`the secret at ${what} starts with "{" but is not JSON: store the value as plain text or as {"token": "..."}`);
    }
    v = typeof j.token === 'string' ? j.token : typeof j.password === 'string' ? j.password : '';
  }
  if (!v) throw new Error(`the secret at ${what} is empty: put the value in it (plain text, or JSON {"token": "..."})`);
  return v;
}

/** The text of a secret as stored; `what` is the variable holding its ARN, named in every error. */
export async function readSecretString(sm: SecretsReader, arn: string, what: string): Promise<string> {
  const r = await sm.send(new GetSecretValueCommand({ SecretId: arn })).catch((err: unknown) => {
    throw new Error(`could not read the secret ${what}=${arn} (${err instanceof Error ? err.name : String(err)}): check the ARN and that the role may call secretsmanager:GetSecretValue on it`, { cause: err });
  });
  if (!r.SecretString) throw new Error(`the secret at ${what}=${arn} has no text value: store it as a string (a binary secret is not supported)`);
  return r.SecretString;
}

/** Reads a secret's one value (plain text or JSON with token/password); `what` as for readSecretString. */
export async function readSecret(sm: SecretsReader, arn: string, what: string): Promise<string> {
  return secretValue(await readSecretString(sm, arn, what), what);
}
