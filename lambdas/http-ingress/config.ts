/**
 * Configuration of the HTTP interactions ingress, parsed once with zod. A missing or bad variable
 * stops the cold start with a message naming the variable and what to set (never a secret's value:
 * nothing here is secret, the public key is public).
 */
import { z } from 'zod';

/** Discord's own limit on the age of a signed request is not published; 5 minutes is the usual replay window. */
export const MAX_TIMESTAMP_SKEW_S = 300;

export const HttpIngressConfigSchema = z.object({
  DISCORD_PUBLIC_KEY: z
    .string()
    .trim()
    .regex(/^[0-9a-fA-F]{64}$/, "expected the application's public key from the developer portal (64 hex characters, 32 bytes)"),
  DISCORD_APPLICATION_ID: z.string().regex(/^\d{1,20}$/, 'expected the application id (a snowflake)'),
  INTERACTION_QUEUE_URL: z.url('expected the URL of the interactions tier queue'),
  /** bodies above this get 413 before any other work; Discord interactions are a few KB @default 131072 */
  MAX_BODY_BYTES: z.coerce.number().int().min(4_096).max(262_144).default(131_072),
  /** how long a self-contained fast command may run here before it is deferred to the worker instead @default 1000 */
  FAST_COMMAND_BUDGET_MS: z.coerce.number().int().min(10).max(2_500).default(1_000),
  AWS_REGION: z.string().default('us-east-1'),
});

export type HttpIngressConfig = z.infer<typeof HttpIngressConfigSchema>;

export class HttpIngressConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`bad HTTP ingress configuration: ${problems.join('; ')}`);
    this.name = 'HttpIngressConfigError';
  }
}

export function parseHttpIngressConfig(env: Record<string, string | undefined> = process.env): HttpIngressConfig {
  const r = HttpIngressConfigSchema.safeParse(env);
  if (!r.success) {
    throw new HttpIngressConfigError(
      r.error.issues.map((i) => {
        const key = String(i.path[0] ?? '(env)');
        // the values here are not secret, so say what was received (shortened)
        const v = env[key];
        const got = v === undefined ? 'unset' : `got ${JSON.stringify(v.slice(0, 80))}`;
        return `${key}: ${i.message} (${got})`;
      }),
    );
  }
  return r.data;
}

let cached: HttpIngressConfig | undefined;
export const httpIngressConfig = (): HttpIngressConfig => (cached ??= parseHttpIngressConfig());
