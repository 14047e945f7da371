/**
 * Reads the wiring (bus, queues with redrive policies, rules with patterns/targets/target DLQs, and
 * Lambda event source mappings) out of a synthesized CloudFormation template, so the local pipeline
 * creates exactly what deploys (DESIGN.md section 4: no second copy of the wiring by hand).
 *
 * Pure: no AWS calls. `apply.ts` creates the plan on an AWS-compatible endpoint; `runner.ts` polls
 * the queues the way the event source mappings say.
 */

export interface CfnTemplate {
  Resources?: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, unknown> }>;
}

export interface QueuePlan {
  logicalId: string;
  visibilityTimeoutSeconds?: number;
  retentionSeconds?: number;
  maximumMessageSizeBytes?: number;
  /** the DLQ's logical id and maxReceiveCount, from RedrivePolicy */
  redrive?: { deadLetterQueue: string; maxReceiveCount: number };
}

export interface RuleTargetPlan {
  id: string;
  queue: string;
  deadLetterQueue?: string;
  retryPolicy?: { maximumRetryAttempts?: number; maximumEventAgeInSeconds?: number };
  inputPath?: string;
}

export interface RulePlan {
  logicalId: string;
  eventPattern: unknown;
  enabled: boolean;
  targets: RuleTargetPlan[];
}

export interface FunctionPlan {
  logicalId: string;
  /** which worker this function runs: its WORKER env var, else guessed from its construct path */
  worker?: string;
  timeoutSeconds: number;
  environment: Record<string, unknown>;
  cdkPath?: string;
}

export interface MappingPlan {
  logicalId: string;
  queue: string;
  function: string;
  batchSize: number;
  maxBatchingWindowSeconds: number;
  maxConcurrency?: number;
  reportBatchItemFailures: boolean;
}

export interface WiringPlan {
  bus: { logicalId: string; name?: string };
  queues: QueuePlan[];
  rules: RulePlan[];
  functions: FunctionPlan[];
  mappings: MappingPlan[];
}

export class TemplateWiringError extends Error {
  constructor(message: string) {
    super(`template wiring: ${message}`);
    this.name = 'TemplateWiringError';
  }
}

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The logical id an intrinsic points at: {Ref: X}, {Fn::GetAtt: [X, 'Arn']} or {Fn::GetAtt: 'X.Arn'}. */
export function refTarget(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  if (typeof v.Ref === 'string') return v.Ref;
  const ga = v['Fn::GetAtt'];
  if (Array.isArray(ga) && typeof ga[0] === 'string') return ga[0];
  if (typeof ga === 'string') return ga.split('.')[0];
  return undefined;
}

const num = (v: unknown): number | undefined => (v === undefined ? undefined : Number(v));

const WORKERS = ['interaction', 'member', 'guild'] as const;

function guessWorker(env: Record<string, unknown>, cdkPath: string | undefined): string | undefined {
  if (typeof env.WORKER === 'string') return env.WORKER;
  if (!cdkPath) return undefined;
  const p = cdkPath.toLowerCase();
  return WORKERS.find((w) => p.includes(`${w}worker`) || p.includes(`${w}-worker`) || p.includes(`/${w}/`) || p.includes(`${w}handler`));
}

/** Builds the plan; throws a TemplateWiringError naming the resource when something is inconsistent. */
export function planFromTemplate(template: CfnTemplate): WiringPlan {
  const res = template.Resources ?? {};
  const of = (type: string) => Object.entries(res).filter(([, r]) => r.Type === type);

  const buses = of('AWS::Events::EventBus');
  if (buses.length !== 1) throw new TemplateWiringError(`expected exactly one AWS::Events::EventBus, found ${buses.length}`);
  const [busId, busRes] = buses[0]!;
  const busName = busRes.Properties?.Name;

  const queueIds = new Set(of('AWS::SQS::Queue').map(([id]) => id));
  const queues: QueuePlan[] = of('AWS::SQS::Queue').map(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const q: QueuePlan = {
      logicalId,
      visibilityTimeoutSeconds: num(p.VisibilityTimeout),
      retentionSeconds: num(p.MessageRetentionPeriod),
      maximumMessageSizeBytes: num(p.MaximumMessageSize),
    };
    if (isObj(p.RedrivePolicy)) {
      const dlq = refTarget(p.RedrivePolicy.deadLetterTargetArn);
      if (!dlq || !queueIds.has(dlq)) throw new TemplateWiringError(`queue ${logicalId}: RedrivePolicy.deadLetterTargetArn does not point at a queue of this template`);
      q.redrive = { deadLetterQueue: dlq, maxReceiveCount: Number(p.RedrivePolicy.maxReceiveCount) };
    }
    return q;
  });

  const rules: RulePlan[] = of('AWS::Events::Rule')
    .filter(([, r]) => refTarget(r.Properties?.EventBusName) === busId || r.Properties?.EventBusName === busName)
    .map(([logicalId, r]) => {
      const p = r.Properties ?? {};
      const targets = (Array.isArray(p.Targets) ? p.Targets : []).map((t: Json): RuleTargetPlan => {
        const queue = refTarget(t.Arn);
        if (!queue || !queueIds.has(queue)) throw new TemplateWiringError(`rule ${logicalId}: target ${String(t.Id)} is not a queue of this template`);
        const dlc = isObj(t.DeadLetterConfig) ? refTarget(t.DeadLetterConfig.Arn) : undefined;
        const rp = isObj(t.RetryPolicy) ? t.RetryPolicy : undefined;
        return {
          id: String(t.Id),
          queue,
          deadLetterQueue: dlc,
          retryPolicy: rp ? { maximumRetryAttempts: num(rp.MaximumRetryAttempts), maximumEventAgeInSeconds: num(rp.MaximumEventAgeInSeconds) } : undefined,
          inputPath: typeof t.InputPath === 'string' ? t.InputPath : undefined,
        };
      });
      return { logicalId, eventPattern: p.EventPattern, enabled: (p.State ?? 'ENABLED') === 'ENABLED', targets };
    });

  const functions: FunctionPlan[] = of('AWS::Lambda::Function').map(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const env = isObj(p.Environment) && isObj(p.Environment.Variables) ? p.Environment.Variables : {};
    const cdkPath = typeof r.Metadata?.['aws:cdk:path'] === 'string' ? (r.Metadata['aws:cdk:path'] as string) : undefined;
    return { logicalId, worker: guessWorker(env, cdkPath), timeoutSeconds: Number(p.Timeout ?? 3), environment: env, cdkPath };
  });
  const fnIds = new Set(functions.map((f) => f.logicalId));

  const mappings: MappingPlan[] = of('AWS::Lambda::EventSourceMapping').flatMap(([logicalId, r]) => {
    const p = r.Properties ?? {};
    const queue = refTarget(p.EventSourceArn);
    if (!queue || !queueIds.has(queue)) return []; // not an SQS mapping of this template
    const fn = refTarget(p.FunctionName);
    if (!fn || !fnIds.has(fn)) throw new TemplateWiringError(`event source mapping ${logicalId}: FunctionName is not a function of this template`);
    const scaling = isObj(p.ScalingConfig) ? p.ScalingConfig : {};
    return [
      {
        logicalId,
        queue,
        function: fn,
        batchSize: Number(p.BatchSize ?? 10),
        maxBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
        maxConcurrency: num(scaling.MaximumConcurrency),
        reportBatchItemFailures: Array.isArray(p.FunctionResponseTypes) && p.FunctionResponseTypes.includes('ReportBatchItemFailures'),
      },
    ];
  });

  return { bus: { logicalId: busId, name: typeof busName === 'string' ? busName : undefined }, queues, rules, functions, mappings };
}
