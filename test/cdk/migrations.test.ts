import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { migrationsHash } from '../../lib/constructs/database-migrations';
import { buildTestApp } from './helpers';

describe('deploy-time migrations', () => {
  const built = buildTestApp();
  const t = Template.fromStack(built.stateful);

  it('runs the migrator as a custom resource that changes with the migration files', () => {
    const resources = t.findResources('AWS::CloudFormation::CustomResource');
    const props = Object.values(resources).map((r) => (r as { Properties: { MigrationsHash?: string } }).Properties);
    expect(props.filter((p) => p.MigrationsHash === migrationsHash())).toHaveLength(1);
  });

  it('gives the migrator nodejs22.x on ARM64 in the VPC, with the admin secret', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      VpcConfig: {},
      Environment: { Variables: { DB_NAME: 'gateway_proxy', ADMIN_SECRET_ARN: {} } },
    });
  });

  it('lets the migrator reach PostgreSQL on the instance', () => {
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => (r as { Properties: { Description?: string; FromPort?: number } }).Properties);
    expect(ingress.some((i) => i.Description === 'PostgreSQL from the migrator' && i.FromPort === 5432)).toBe(true);
  });
});
