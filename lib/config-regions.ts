import { configuredTopics } from '../config/notification-topics';
import type { RunbookConfig } from '../config/schema';

/**
 * The configuration names some resources by ARN, and an ARN carries its region. The functions call them
 * with clients of their own region, and a KMS key or a topic serves only its region: every regional ARN
 * must be in the region the stack deploys to.
 */

/** An ARN of the configuration, where it is written and the region it names. */
export interface RegionalArn {
  readonly field: string;
  readonly arn: string;
  readonly region: string;
}

function regional(field: string, value: string | undefined): RegionalArn[] {
  if (!value?.startsWith('arn:')) return [];
  const region = value.split(':')[3] ?? '';
  // IAM role ARNs have no region: they are global.
  return region === '' ? [] : [{ field, arn: value, region }];
}

/** Every ARN in the configuration that belongs to one region. */
export function regionalArns(config: RunbookConfig): RegionalArn[] {
  const { target, database, migrations, smokeTests, notifications } = config;
  return [
    ...(target.kind === 'ecs' ? [...regional('target.cluster', target.cluster), ...regional('target.service', target.service)] : []),
    ...(target.kind === 'hook' ? regional('target.functionArn', target.functionArn) : []),
    ...(migrations?.kind === 'hook' ? regional('migrations.functionArn', migrations.functionArn) : []),
    ...(database && 'kmsKeyArn' in database ? regional('database.kmsKeyArn', database.kmsKeyArn) : []),
    ...Object.entries(smokeTests.secrets).flatMap(([name, ref]) => ('secretsManager' in ref ? regional(`smokeTests.secrets.${name}.secretsManager`, ref.secretsManager) : [])),
    ...configuredTopics(notifications).flatMap((topic) => regional(topic.field, topic.topicArn)),
  ];
}

/** One line per ARN outside `region`, naming the field, its region and the value. */
export function regionProblems(config: RunbookConfig, region: string): string[] {
  return regionalArns(config)
    .filter((arn) => arn.region !== region)
    .map((arn) => `${arn.field}: is in ${arn.region}, but the stack deploys to ${region}, whose functions cannot use it; synthesize for ${arn.region} (AWS_REGION=${arn.region}) or name a resource in ${region} (got "${arn.arn}")`);
}

/**
 * The one region the configuration's ARNs name, for a synthesis given no region: the template is then made
 * for that region rather than for whichever one the deploy happens to use. Undefined when no ARN names a region.
 */
export function configRegion(config: RunbookConfig): { region: string | undefined; problems: string[] } {
  const arns = regionalArns(config);
  const regions = [...new Set(arns.map((arn) => arn.region))];
  if (regions.length <= 1) return { region: regions[0], problems: [] };
  const where = regions.map((region) => `${region}: ${arns.filter((arn) => arn.region === region).map((arn) => arn.field).join(', ')}`);
  return { region: undefined, problems: [`the configuration names resources in ${regions.length} regions (${where.join('; ')}), but the functions of one stack run in one region`] };
}
