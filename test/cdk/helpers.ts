/** Shared builders for the CDK assertion tests: synthesize once per file, reuse the templates. */
import { App } from 'aws-cdk-lib';
import { loadAppConfig, type AppConfig } from '../../lib/config/app-config';
import { buildApp, type BuiltApp, type BuildAppOptions } from '../../lib/stacks/build-app';

/** A configuration as bin/ would read it from context; every value has to pass the zod schema. */
export function testConfig(context: Record<string, unknown> = {}): AppConfig {
  return loadAppConfig((k) => context[k], {});
}

export interface TestApp extends BuiltApp {
  readonly app: App;
  readonly config: AppConfig;
}

/**
 * The whole app as bin/ builds it. `bundle: false` skips esbuild (asset hashes only), which keeps the
 * files that do not look at the code fast.
 */
export function buildTestApp(context: Record<string, unknown> = {}, options: BuildAppOptions & { bundle?: boolean } = {}): TestApp {
  const app = new App({ context: options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] } });
  const config = testConfig(context);
  const built = buildApp(app, config, options);
  return { app, config, ...built };
}

type Json = Record<string, unknown>;
export type Resources = Record<string, { Type: string; Properties?: Json; DeletionPolicy?: string; UpdateReplacePolicy?: string; Metadata?: Json }>;

/** Every IAM statement of a template (inline policies and managed policies), with the resource it sits on. */
export function iamStatements(resources: Resources): { owner: string; Action: string[]; Resource: unknown[]; Effect: string }[] {
  const out: { owner: string; Action: string[]; Resource: unknown[]; Effect: string }[] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::IAM::Policy' && r.Type !== 'AWS::IAM::ManagedPolicy') continue;
    const doc = r.Properties?.PolicyDocument as { Statement: Json[] };
    for (const s of doc.Statement) {
      const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [v]);
      out.push({ owner: id, Action: arr(s.Action) as string[], Resource: arr(s.Resource), Effect: s.Effect as string });
    }
  }
  return out;
}
