import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * ARNs of the existing resources a configuration names, built with `Stack.formatArn` so that
 * `cdk synth` needs no look-ups: account and region stay the stack's (tokens when env-agnostic).
 */
export class ResourceArns {
  private readonly stack: Stack;

  constructor(scope: IConstruct) {
    this.stack = Stack.of(scope);
  }

  /** An ECS cluster given by name or ARN. */
  ecsCluster(cluster: string): string {
    if (isArn(cluster)) return cluster;
    return this.format('ecs', 'cluster', cluster, ArnFormat.SLASH_RESOURCE_NAME);
  }

  /** An ECS service given by name or ARN, in the long ARN format (`service/<cluster>/<service>`). */
  ecsService(cluster: string, service: string): string {
    if (isArn(service)) return service;
    return this.format('ecs', 'service', `${lastSegment(cluster)}/${service}`, ArnFormat.SLASH_RESOURCE_NAME);
  }

  /** Every service deployment of one service (ids are assigned when ECS starts one). */
  ecsServiceDeployments(cluster: string, service: string): string {
    return this.format('ecs', 'service-deployment', `${lastSegment(cluster)}/${lastSegment(service)}/*`, ArnFormat.SLASH_RESOURCE_NAME);
  }

  /** Every revision of a task definition family. */
  ecsTaskDefinitionRevisions(family: string): string {
    return this.format('ecs', 'task-definition', `${family}:*`, ArnFormat.SLASH_RESOURCE_NAME);
  }

  /** Every task of a cluster (task ids are assigned when the task starts). */
  ecsTasks(cluster: string): string {
    return this.format('ecs', 'task', `${lastSegment(cluster)}/*`, ArnFormat.SLASH_RESOURCE_NAME);
  }

  /** A Lambda function by name; `qualifier` names a version or alias of it (`*`: any). */
  lambdaFunction(name: string, qualifier?: string): string {
    return this.format('lambda', 'function', qualifier === undefined ? name : `${name}:${qualifier}`, ArnFormat.COLON_RESOURCE_NAME);
  }

  /** An ECR repository from its URI (`<account>.dkr.ecr.<region>.amazonaws.com/<name>`), in the account and region the URI names. */
  ecrRepository(uri: string): string {
    const match = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/(.+)$/.exec(uri);
    if (!match) return this.format('ecr', 'repository', uri.slice(uri.indexOf('/') + 1), ArnFormat.SLASH_RESOURCE_NAME);
    return this.stack.formatArn({ service: 'ecr', account: match[1], region: match[2], resource: 'repository', resourceName: match[3], arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  /** Every object of an S3 bucket the configuration names (not the stack's own). */
  s3Objects(bucket: string): string {
    return this.stack.formatArn({ service: 's3', region: '', account: '', resource: bucket, resourceName: '*', arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  /** An RDS resource such as `db:<id>`, `snapshot:<name>`, `cluster:<id>`, `subgrp:*`. */
  rds(resource: string, name: string): string {
    return this.format('rds', resource, name, ArnFormat.COLON_RESOURCE_NAME);
  }

  /** An EC2 resource such as `subnet/<id>`, `security-group/<id>`, `vpc/<id>`, `network-interface/*`. */
  ec2(resource: string, id: string): string {
    return this.format('ec2', resource, id, ArnFormat.SLASH_RESOURCE_NAME);
  }

  /**
   * A CloudWatch alarm by name. An alarm name may hold `*`, `?` or `$`, which an ARN in a policy would read as
   * wildcards or a variable: they are written as IAM's literal-character variables `${*}`, `${?}`, `${$}`.
   */
  alarm(name: string): string {
    return this.format('cloudwatch', 'alarm', literalInPolicy(name), ArnFormat.COLON_RESOURCE_NAME);
  }

  /** A Secrets Manager secret by ARN (used as given) or name (any of the six random suffix characters). */
  secret(nameOrArn: string): string {
    if (isArn(nameOrArn)) return nameOrArn;
    return this.format('secretsmanager', 'secret', `${nameOrArn}-??????`, ArnFormat.COLON_RESOURCE_NAME);
  }

  /** A CloudWatch Logs group by name, as Logs Insights' StartQuery is authorized on it (IAM's log-group ARN has no `:*`). */
  logGroup(name: string): string {
    return this.format('logs', 'log-group', name, ArnFormat.COLON_RESOURCE_NAME);
  }

  /** Every execution of a state machine (`execution:<state machine name>:<execution name>`). */
  stateMachineExecutions(stateMachineName: string): string {
    return this.format('states', 'execution', `${stateMachineName}:*`, ArnFormat.COLON_RESOURCE_NAME);
  }

  /** An Amazon Managed Service for Prometheus workspace, in the region its URL names. */
  apsWorkspace(region: string, workspaceId: string): string {
    return this.stack.formatArn({ service: 'aps', region, resource: 'workspace', resourceName: workspaceId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  /** A document AWS owns, such as `AWS-RunShellScript`: its ARN names no account. */
  awsSsmDocument(name: string): string {
    return this.stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  /** Every EC2 instance of the stack's account and region. */
  ec2Instances(): string {
    return this.format('ec2', 'instance', '*', ArnFormat.SLASH_RESOURCE_NAME);
  }

  private format(service: string, resource: string, resourceName: string, arnFormat: ArnFormat): string {
    return this.stack.formatArn({ service, resource, resourceName, arnFormat });
  }
}

function isArn(value: string): boolean {
  return value.startsWith('arn:');
}

/** `arn:aws:ecs:eu-west-1:123456789012:cluster/shop-prod` → `shop-prod`; a plain name stays as it is. */
function lastSegment(nameOrArn: string): string {
  return nameOrArn.slice(nameOrArn.lastIndexOf('/') + 1);
}

/** `a*b?` → `a${*}b${?}`: the characters a policy's ARN would otherwise read as wildcards or a variable. */
export function literalInPolicy(text: string): string {
  return text.replace(/[*?$]/g, (character) => `\${${character}}`);
}
