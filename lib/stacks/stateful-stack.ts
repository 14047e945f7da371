/**
 * Stateful resources, in their own stack so the gateway stack can be replaced freely: the VPC and
 * security groups, ElastiCache (Valkey) with TLS, at-rest encryption and AUTH, RDS PostgreSQL behind
 * RDS Proxy with IAM authentication and TLS required, the claim-check bucket, and the secrets (bot
 * token, Redis AUTH token, database admin credentials). Every stateful resource states its removal
 * policy.
 *
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/in-transit-encryption.html
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connecting.html
 */
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { DatabaseMigrations } from '../constructs/database-migrations';
import { acknowledge } from '../constructs/nag';

export const REDIS_PORT = 6379;
export const POSTGRES_PORT = 5432;
export const DATABASE_NAME = 'gateway_proxy';
export const WORKER_DB_USER = 'gateway_worker';

export interface StatefulStackProps extends StackProps {
  /** @default 'cache.t4g.small' */
  readonly redisNodeType?: string;
  /** Instance class without the `db.` prefix. @default 't4g.small' */
  readonly dbInstanceClass?: string;
  /** @default true */
  readonly dbMultiAz?: boolean;
  /** @default 1 */
  readonly natGateways?: number;
  /**
   * Removal policy of the database, cache, bucket and secrets.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

export class StatefulStack extends Stack {
  readonly vpc: ec2.Vpc;
  /** Attached to the worker Lambdas: may reach Redis and the proxy. */
  readonly workerSecurityGroup: ec2.SecurityGroup;
  /** Attached to the ingestor tasks: may reach Redis. */
  readonly ingestorSecurityGroup: ec2.SecurityGroup;
  readonly redisSecurityGroup: ec2.SecurityGroup;
  readonly redis: elasticache.CfnReplicationGroup;
  /** rediss://primary-endpoint:6379 */
  readonly redisUrl: string;
  readonly redisAuthSecret: secretsmanager.Secret;
  readonly database: rds.DatabaseInstance;
  readonly proxy: rds.DatabaseProxy;
  readonly botTokenSecret: secretsmanager.Secret;
  readonly claimCheckBucket: s3.Bucket;
  readonly migrations: DatabaseMigrations;
  /** s3:PutObject on the claim-check objects only (the ingestor). */
  readonly claimCheckWriterPolicy: iam.ManagedPolicy;
  /** s3:GetObject on the claim-check objects only (the workers). */
  readonly claimCheckReaderPolicy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.vpc = this.createVpc(props.natGateways ?? 1);
    const groups = this.createSecurityGroups();
    this.workerSecurityGroup = groups.worker;
    this.ingestorSecurityGroup = groups.ingestor;
    this.redisSecurityGroup = groups.redis;
    const secrets = this.createSecrets(removalPolicy);
    this.botTokenSecret = secrets.botToken;
    this.redisAuthSecret = secrets.redisAuth;
    const claimCheck = this.createClaimCheckBucket(removalPolicy);
    this.claimCheckBucket = claimCheck.bucket;
    this.claimCheckWriterPolicy = claimCheck.writer;
    this.claimCheckReaderPolicy = claimCheck.reader;
    this.redis = this.createRedis(props.redisNodeType ?? 'cache.t4g.small', removalPolicy);
    this.redisUrl = `rediss://${this.redis.attrPrimaryEndPointAddress}:${this.redis.attrPrimaryEndPointPort}`;
    this.database = this.createDatabase(props, removalPolicy, groups.database);

    // the deploy-time migration step: db/migrations (000 creates the worker role with rds_iam)
    if (!this.database.secret) throw new Error('the database was created without its generated admin secret: the migrator needs it');
    this.migrations = new DatabaseMigrations(this, 'Migrations', {
      vpc: this.vpc,
      database: this.database,
      adminSecret: this.database.secret,
      databaseSecurityGroup: groups.database,
      databaseName: DATABASE_NAME,
    });

    this.proxy = this.createProxy(groups.proxy);
    this.createOutputs(this.database.secret);

    // CDK's LogRetention singleton (set retention on the RDS log group)
    acknowledge(
      this,
      'CDK-owned LogRetention function: AWS managed basic execution role and logs:* on * to set retention of log groups it does not create.',
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AwsSolutions-IAM5[Resource::*]',
    );
  }

  private createVpc(natGateways: number): ec2.Vpc {
    return new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'app', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
        { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      flowLogs: {
        rejected: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'VpcFlowLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY })),
          trafficType: ec2.FlowLogTrafficType.REJECT,
        },
      },
    });
  }

  private createSecurityGroups() {
    const sg = (name: string, description: string) => new ec2.SecurityGroup(this, name, { vpc: this.vpc, description, allowAllOutbound: name !== 'RedisSecurityGroup' && name !== 'DatabaseSecurityGroup' });
    const worker = sg('WorkerSecurityGroup', 'Worker Lambdas');
    const ingestor = sg('IngestorSecurityGroup', 'Ingestor Fargate tasks');
    const redis = sg('RedisSecurityGroup', 'ElastiCache (Valkey)');
    const proxy = sg('ProxySecurityGroup', 'RDS Proxy');
    const database = sg('DatabaseSecurityGroup', 'RDS PostgreSQL');
    for (const client of [worker, ingestor]) {
      redis.addIngressRule(client, ec2.Port.tcp(REDIS_PORT), `Redis from ${client.node.id}`);
    }
    proxy.addIngressRule(worker, ec2.Port.tcp(POSTGRES_PORT), 'PostgreSQL from the workers');
    database.addIngressRule(proxy, ec2.Port.tcp(POSTGRES_PORT), 'PostgreSQL from RDS Proxy');
    return { worker, ingestor, redis, proxy, database };
  }

  /** The bot token (set by the operator) and the Redis AUTH token (generated). */
  private createSecrets(removalPolicy: RemovalPolicy) {
    const botToken = new secretsmanager.Secret(this, 'DiscordBotToken', {
      description: 'Discord bot token: set with `aws secretsmanager put-secret-value` after the first deploy',
      removalPolicy,
    });
    acknowledge(botToken, 'A Discord bot token cannot be rotated by Secrets Manager; it is reset in the Discord developer portal.', 'AwsSolutions-SMG4');
    const redisAuth = new secretsmanager.Secret(this, 'RedisAuthToken', {
      description: 'ElastiCache AUTH token',
      // ElastiCache AUTH tokens: 16-128 printable characters without @, " or /
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    acknowledge(redisAuth, 'Rotating an ElastiCache AUTH token needs a coordinated ROTATE/SET on the replication group; done as an operational runbook, not automatically.', 'AwsSolutions-SMG4');
    return { botToken, redisAuth };
  }

  /** The claim-check bucket (oversized dispatch payloads, short-lived) and its object policies. */
  private createClaimCheckBucket(removalPolicy: RemovalPolicy) {
    const bucket = new s3.Bucket(this, 'ClaimCheckBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      lifecycleRules: [{ expiration: Duration.days(14) }],
      removalPolicy,
      autoDeleteObjects: false,
    });
    acknowledge(bucket, 'Transient claim-check objects written by the ingestor and read by workers; expire in 14 days. CloudTrail data events can be enabled for audits.', 'AwsSolutions-S1');

    // Object access as managed policies here, next to the bucket: the object wildcard is acknowledged
    // once, at the statement that needs it, and the roles in the gateway stack attach them.
    const objects = bucket.arnForObjects('*');
    const bucketId = this.resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId) as string;
    const objectWildcard = `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/*]`;
    const writer = new iam.ManagedPolicy(this, 'ClaimCheckWriter', {
      description: 'Put claim-check objects (oversized dispatch payloads)',
      statements: [new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [objects] })],
    });
    const reader = new iam.ManagedPolicy(this, 'ClaimCheckReader', {
      description: 'Read claim-check objects (oversized dispatch payloads)',
      statements: [new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [objects] })],
    });
    for (const p of [writer, reader]) {
      acknowledge(p, 'Objects of the claim-check bucket only: keys are content ids chosen at run time.', objectWildcard);
    }
    return { bucket, writer, reader };
  }

  /** ElastiCache (Valkey): TLS in transit, encrypted at rest, AUTH token. */
  private createRedis(nodeType: string, removalPolicy: RemovalPolicy): elasticache.CfnReplicationGroup {
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'RedisSubnets', {
      description: 'Isolated data subnets',
      subnetIds: this.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    const redis = new elasticache.CfnReplicationGroup(this, 'Redis', {
      replicationGroupDescription: 'Discord gateway proxy: resume watermarks, dedupe, cooldowns, REST rate limits',
      engine: 'valkey',
      engineVersion: '8.0',
      cacheNodeType: nodeType,
      numCacheClusters: 2,
      automaticFailoverEnabled: true,
      multiAzEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      authToken: this.redisAuthSecret.secretValue.unsafeUnwrap(), // a {{resolve:secretsmanager}} reference, not the value
      port: REDIS_PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.redisSecurityGroup.securityGroupId],
      snapshotRetentionLimit: 1,
    });
    redis.applyRemovalPolicy(removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.SNAPSHOT);
    return redis;
  }

  /** PostgreSQL: IAM authentication, TLS forced, encrypted. */
  private createDatabase(props: StatefulStackProps, removalPolicy: RemovalPolicy, securityGroup: ec2.SecurityGroup): rds.DatabaseInstance {
    const parameterGroup = new rds.ParameterGroup(this, 'DatabaseParameters', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_9 }),
      parameters: { 'rds.force_ssl': '1' },
    });
    const database = new rds.DatabaseInstance(this, 'Database', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_9 }),
      instanceType: new ec2.InstanceType(props.dbInstanceClass ?? 't4g.small'),
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      databaseName: DATABASE_NAME,
      credentials: rds.Credentials.fromGeneratedSecret('gateway_admin'),
      iamAuthentication: true,
      storageEncrypted: true,
      multiAz: props.dbMultiAz ?? true,
      parameterGroup,
      allocatedStorage: 20,
      maxAllocatedStorage: 200,
      backupRetention: Duration.days(7),
      deletionProtection: removalPolicy !== RemovalPolicy.DESTROY,
      cloudwatchLogsExports: ['postgresql'],
      cloudwatchLogsRetention: logs.RetentionDays.ONE_MONTH, // adds CDK's LogRetention function, acknowledged below
      removalPolicy: removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.SNAPSHOT,
    });
    acknowledge(database, 'Admin credentials are used only by the deploy-time migration step; rotation is an operational follow-up (documented in docs/deploy.md).', 'AwsSolutions-SMG4');
    acknowledge(database, 'Only RDS Proxy may reach the instance (security group); a non-default port adds nothing here.', 'AwsSolutions-RDS11');
    acknowledge(database, 'Multi-AZ is on by default (dbMultiAz); an environment may turn it off knowingly for cost.', 'AwsSolutions-RDS3');
    return database;
  }

  private createProxy(securityGroup: ec2.SecurityGroup): rds.DatabaseProxy {
    // End-to-end IAM authentication: workers log in to the proxy with an IAM token and the proxy logs
    // in to PostgreSQL with IAM as well, so no per-user password secret exists (the user needs GRANT rds_iam).
    // With end-to-end IAM the proxy itself logs in to PostgreSQL with IAM: its role needs
    // rds-db:connect for the worker user on this instance (dbuser:<DbiResourceId>/<user>).
    // https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-iam-setup.html
    const proxyRole = new iam.Role(this, 'DatabaseProxyRole', {
      assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
      description: 'RDS Proxy: IAM login to PostgreSQL as the worker user',
    });
    proxyRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['rds-db:connect'],
        resources: [
          Stack.of(this).formatArn({
            service: 'rds-db',
            resource: 'dbuser',
            resourceName: `${this.database.instanceResourceId}/${WORKER_DB_USER}`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    return new rds.DatabaseProxy(this, 'DatabaseProxy', {
      // a physical name is required; derive it from the stack so environments never collide
      dbProxyName: `${this.stackName}-proxy`
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 60),
      role: proxyRole,
      proxyTarget: rds.ProxyTarget.fromInstance(this.database),
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      iamAuth: true,
      requireTLS: true,
      defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH,
      // short tenant transactions pin at most for their length (docs/deploy.md, RDS Proxy pinning); fail fast when saturated
      borrowTimeout: Duration.seconds(10),
      maxConnectionsPercent: 90,
    });
  }

  private createOutputs(adminSecret: secretsmanager.ISecret): void {
    new CfnOutput(this, 'BotTokenSecretArn', { value: this.botTokenSecret.secretArn, description: 'Put the Discord bot token here after the first deploy' });
    new CfnOutput(this, 'DatabaseAdminSecretArn', { value: adminSecret.secretArn, description: 'Admin credentials, for migrations only' });
    new CfnOutput(this, 'DatabaseEndpoint', { value: this.database.dbInstanceEndpointAddress });
    new CfnOutput(this, 'ProxyEndpoint', { value: this.proxy.endpoint });
    new CfnOutput(this, 'RedisUrl', { value: this.redisUrl });
    new CfnOutput(this, 'ClaimCheckBucketName', { value: this.claimCheckBucket.bucketName });
  }
}
