/**
 * The deployed workers' SQS event source mappings on the emulator, through the Lambda API
 * (ListEventSourceMappings / UpdateEventSourceMapping, REST + SigV4 with aws4: the project carries no
 * Lambda SDK client), and their invocation counts from CloudWatch (AWS/Lambda Invocations, Errors).
 * Switching a mapping off stands in for "the worker is down"; MaximumConcurrency is the real setting.
 */
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import aws4 from 'aws4';
import type { ConsumerName } from '../../lib/contract';
import { localAwsConfig } from '../aws';

export interface MappingState {
  worker: ConsumerName;
  functionName: string;
  uuid: string;
  state: string;
  batchSize: number;
  maximumConcurrency?: number;
  functionResponseTypes: string[];
  lastProcessingResult?: string;
}

interface RawMapping {
  UUID: string;
  State: string;
  BatchSize: number;
  FunctionArn: string;
  EventSourceArn: string;
  ScalingConfig?: { MaximumConcurrency?: number };
  FunctionResponseTypes?: string[];
  LastProcessingResult?: string;
}

async function lambdaApi<T>(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<T> {
  const aws = localAwsConfig();
  const url = new URL(path, aws.endpoint);
  const req = aws4.sign({ host: url.host, path: url.pathname + url.search, method, service: 'lambda', region: aws.region, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) }, aws.credentials);
  const res = await fetch(url, { method, headers: req.headers as Record<string, string>, body: req.body as string | undefined });
  const text = await res.text();
  if (!res.ok) throw new Error(`Lambda ${method} ${url.pathname} on ${aws.endpoint}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

export class EventSourceMappings {
  private readonly started = new Date(Date.now() - 60_000);
  private readonly cw = new CloudWatchClient(localAwsConfig());

  constructor(readonly functions: Partial<Record<ConsumerName, string>>) {}

  private functionOf(worker: ConsumerName): string {
    const fn = this.functions[worker];
    if (!fn) throw new Error(`the local stack has no ${worker} worker (outputs list: ${Object.keys(this.functions).join(', ')})`);
    return fn;
  }

  private async raw(worker: ConsumerName): Promise<RawMapping> {
    const fn = this.functionOf(worker);
    const r = await lambdaApi<{ EventSourceMappings?: RawMapping[] }>('GET', `/2015-03-31/event-source-mappings/?FunctionName=${encodeURIComponent(fn)}`);
    const m = r.EventSourceMappings?.[0];
    if (!m) throw new Error(`function ${fn} (${worker} worker) has no event source mapping on ${localAwsConfig().endpoint}`);
    return m;
  }

  async list(): Promise<MappingState[]> {
    const out: MappingState[] = [];
    for (const worker of Object.keys(this.functions) as ConsumerName[]) {
      const m = await this.raw(worker);
      out.push({
        worker,
        functionName: this.functionOf(worker),
        uuid: m.UUID,
        state: m.State,
        batchSize: m.BatchSize,
        maximumConcurrency: m.ScalingConfig?.MaximumConcurrency,
        functionResponseTypes: m.FunctionResponseTypes ?? [],
        lastProcessingResult: m.LastProcessingResult,
      });
    }
    return out;
  }

  /** Switches the worker's mapping off or on (Enabled), like a paused consumer. */
  async setEnabled(worker: ConsumerName, enabled: boolean): Promise<void> {
    const m = await this.raw(worker);
    await lambdaApi('PUT', `/2015-03-31/event-source-mappings/${m.UUID}`, { Enabled: enabled });
  }

  /** Sets the mapping's ScalingConfig.MaximumConcurrency (AWS allows 2..1000). */
  async setConcurrency(worker: ConsumerName, n: number): Promise<void> {
    if (!Number.isInteger(n) || n < 2 || n > 1000) throw new Error(`MaximumConcurrency must be a whole number 2..1000 (AWS's range), got ${n}`);
    const m = await this.raw(worker);
    await lambdaApi('PUT', `/2015-03-31/event-source-mappings/${m.UUID}`, { ScalingConfig: { MaximumConcurrency: n } });
  }

  /** Invocations and errors of the worker's function since this object was made (CloudWatch AWS/Lambda). */
  async invocations(worker: ConsumerName): Promise<{ invocations: number; errors: number }> {
    const fn = this.functions[worker];
    if (!fn) return { invocations: 0, errors: 0 };
    const sum = async (metric: string) => {
      const r = await this.cw.send(new GetMetricStatisticsCommand({ Namespace: 'AWS/Lambda', MetricName: metric, Dimensions: [{ Name: 'FunctionName', Value: fn }], StartTime: this.started, EndTime: new Date(Date.now() + 60_000), Period: 3600, Statistics: ['Sum'] }));
      return (r.Datapoints ?? []).reduce((a, d) => a + (d.Sum ?? 0), 0);
    };
    return { invocations: await sum('Invocations'), errors: await sum('Errors') };
  }

  close(): void {
    this.cw.destroy();
  }
}
