/**
 * Read access to the token secrets of the applications added at run time (the application registry,
 * `npm run apps`): every secret named `APP_TOKEN_SECRET_PREFIX...`, so adding a bot needs no deploy.
 */
import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { APP_TOKEN_SECRET_PREFIX } from '../contract';
import { acknowledge } from './nag';

export function grantReadAppTokenSecrets(grantee: iam.IGrantable, scope: IConstruct): void {
  const stack = Stack.of(scope);
  const resourceArn = stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${APP_TOKEN_SECRET_PREFIX}*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  iam.Grant.addToPrincipal({ grantee, actions: ['secretsmanager:GetSecretValue'], resourceArns: [resourceArn] });
  acknowledge(
    scope,
    `Reads the token secrets of the applications in the registry: only secrets named ${APP_TOKEN_SECRET_PREFIX}* (a name prefix, since applications are added at run time).`,
    `AwsSolutions-IAM5[Resource::arn:${asNagShows(stack.partition, 'Partition')}:secretsmanager:${asNagShows(stack.region, 'Region')}:${asNagShows(stack.account, 'AccountId')}:secret:${APP_TOKEN_SECRET_PREFIX}*]`,
  );
}

/**
 * A part of the ARN as cdk-nag writes it in a finding: the pseudo parameter when the stack's
 * environment is left to deploy time, the literal when `cdk synth` knows it (the CLI fills in the
 * account and region of the caller's AWS configuration).
 */
function asNagShows(value: string, pseudo: 'Partition' | 'Region' | 'AccountId'): string {
  return Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value;
}
