/**
 * The application registry: every bot this deployment serves, as data in Redis (hash gw:apps, one
 * JSON field per application id), so adding or removing a bot needs no deploy. Ingestor tasks read it
 * every few seconds; `npm run apps -- add|list|remove` writes it. The application configured by a
 * task's own environment (DISCORD_APPLICATION_ID) is always served besides these.
 */
import type Redis from 'ioredis';
import { z } from 'zod';

/** the hash of the registry in namespace `ns` (gw by default) */
export const registryKey = (ns = 'gw') => `${ns}:apps`;

export const ApplicationSchema = z
  .object({
    appId: z.string().regex(/^\d{1,20}$/, 'expected the application id (a snowflake)'),
    /** Secrets Manager ARN of the bot token (plain text or {"token": ...}) */
    tokenSecretArn: z.string().startsWith('arn:').optional(),
    /** the token itself: for local use only (the registry is not a secret store) */
    token: z.string().min(1).optional(),
    intents: z.number().int().nonnegative().optional(),
    /** the bot's shard count; absent: Discord's recommendation */
    shardCount: z.number().int().positive().optional(),
    /** Discord's REST base URL (the simulator's, locally) */
    apiUrl: z.url().optional(),
    /** Ed25519 public key for the HTTP interactions endpoint */
    publicKey: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  })
  .refine((a) => a.token || a.tokenSecretArn, { error: 'set tokenSecretArn (or token, locally)' });
export type Application = z.infer<typeof ApplicationSchema>;

export async function listApplications(redis: Redis, ns = 'gw', log: (msg: string, extra: Record<string, unknown>) => void = () => undefined): Promise<Application[]> {
  const raw = await redis.hgetall(registryKey(ns));
  const out: Application[] = [];
  for (const [field, value] of Object.entries(raw)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      parsed = undefined;
    }
    const r = ApplicationSchema.safeParse(parsed);
    if (r.success && r.data.appId === field) out.push(r.data);
    else log('an application registry entry is unreadable: skipped', { appId: field, problem: r.success ? 'its appId differs from its field' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  }
  return out.sort((a, b) => a.appId.localeCompare(b.appId));
}

/** A registry entry that cannot be used as it is (not a Redis failure): fixing it takes an operator. */
export class RegistryEntryError extends Error {
  override readonly name = 'RegistryEntryError';
}

/**
 * One application's entry: undefined when the registry has none; an entry that does not parse is a
 * RegistryEntryError naming its bad fields (never the token).
 */
export async function getApplication(redis: Redis, appId: string, ns = 'gw'): Promise<Application | undefined> {
  const value = await redis.hget(registryKey(ns), appId);
  if (value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new RegistryEntryError(`the registry entry of application ${appId} (${registryKey(ns)}) is not JSON`);
  }
  const r = ApplicationSchema.safeParse(parsed);
  if (!r.success) throw new RegistryEntryError(`the registry entry of application ${appId} (${registryKey(ns)}) is unreadable: ${r.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; ')}`);
  if (r.data.appId !== appId) throw new RegistryEntryError(`the registry entry of application ${appId} (${registryKey(ns)}) names application ${r.data.appId}`);
  return r.data;
}

export async function putApplication(redis: Redis, app: Application, ns = 'gw'): Promise<void> {
  await redis.hset(registryKey(ns), app.appId, JSON.stringify(ApplicationSchema.parse(app)));
}

export async function removeApplication(redis: Redis, appId: string, ns = 'gw'): Promise<boolean> {
  return (await redis.hdel(registryKey(ns), appId)) === 1;
}
