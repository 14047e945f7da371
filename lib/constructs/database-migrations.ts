/**
 * Runs db/migrations at deploy time: a custom resource whose Lambda (db/migrate.ts, the one migration
 * entry point) connects to the instance directly as the admin. It runs again whenever the migration files change (their hash is a
 * property of the resource).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CustomResource, Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledge } from './nag';

export const MIGRATIONS_DIR = path.join(__dirname, '..', '..', 'db', 'migrations');

export interface DatabaseMigrationsProps {
  readonly vpc: ec2.IVpc;
  /** The instance to migrate; the custom resource runs after it exists. */
  readonly database: rds.IDatabaseInstance;
  /** The instance's admin credentials (username, password, host, port as RDS generates them); the migrator may read it. */
  readonly adminSecret: secretsmanager.ISecret;
  /** The database's security group: the migrator gets PostgreSQL access to it. */
  readonly databaseSecurityGroup: ec2.ISecurityGroup;
  readonly databaseName: string;
}

/** A hash of the migration files: a change makes CloudFormation run the migrator again. */
export function migrationsHash(dir = MIGRATIONS_DIR): string {
  const h = createHash('sha256');
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort())
    h.update(f).update(readFileSync(path.join(dir, f)));
  return h.digest('hex').slice(0, 16);
}

export class DatabaseMigrations extends Construct {
  readonly function: NodejsFunction;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: DatabaseMigrationsProps) {
    super(scope, id);
    const secret = props.adminSecret;
    const sg = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: props.vpc, description: 'Deploy-time migrator: PostgreSQL to the instance' });
    props.databaseSecurityGroup.addIngressRule(sg, ec2.Port.tcp(5432), 'PostgreSQL from the migrator');
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, '..', '..', 'db', 'migrate.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.minutes(5),
      memorySize: 256,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [sg],
      logGroup: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH }),
      environment: { ADMIN_SECRET_ARN: secret.secretArn, DB_NAME: props.databaseName },
      bundling: {
        format: OutputFormat.CJS,
        target: 'node22',
        externalModules: ['pg-native'],
        forceDockerBundling: false,
        // the SQL files travel with the code: db/migrate.ts reads them from <bundle>/migrations
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_in: string, outputDir: string) => [`mkdir -p "${outputDir}/migrations"`, `cp "${MIGRATIONS_DIR}"/*.sql "${outputDir}/migrations/"`],
        },
      },
    });
    secret.grantRead(this.function);
    const provider = new cr.Provider(this, 'Provider', { onEventHandler: this.function, logGroup: new logs.LogGroup(this, 'ProviderLogs', { retention: logs.RetentionDays.ONE_MONTH }) });
    this.resource = new CustomResource(this, 'Resource', { serviceToken: provider.serviceToken, properties: { MigrationsHash: migrationsHash() } });
    this.resource.node.addDependency(props.database);
    acknowledge(
      this,
      'Managed basic/VPC execution roles and the Provider framework (CDK) need these; the migrator reads only the admin secret',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
    );
    acknowledge(this.function, 'pinned to nodejs22.x like the workers (the runtime the code is tested against)', 'AwsSolutions-L1');
    acknowledge(provider, "the Provider framework invokes the migrator's versions (<arn>:*), CDK's own policy", 'AwsSolutions-IAM5[Resource::<MigrationsFunction0E989F76.Arn>:*]');
  }
}
