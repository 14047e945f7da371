/** Acknowledges cdk-nag findings at the construct they concern, each with its reason (cdk-nag v3 uses CDK's Validations). */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export function acknowledge(scope: IConstruct, reason: string, ...ids: string[]): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id, reason });
}
