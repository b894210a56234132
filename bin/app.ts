import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { z } from 'zod';
import { DEFAULT_PLAN_STACK } from '../cli/commands/release';
import { formatIssues } from '../config/issues';
import { assertDeployableToAws, ConfigError, loadConfigFile, readJsonFile } from '../config/load';
import { Notifications } from '../config/schema';
import { configRegion, regionProblems } from '../lib/config-regions';
import { DeployRunbookStack } from '../lib/deploy-runbook-stack';
import { ReleasePlanStack } from '../lib/release-plan-stack';

/** Context key naming the configuration file (`cdk synth -c deploy-runbook:config=path/to.json`). */
const CONFIG_CONTEXT = 'deploy-runbook:config';
const DEFAULT_CONFIG = 'config/example.json';
/** Context key naming the release plan stack's file (`-c deploy-runbook:release-plans=plans.json`): the stack is added only then. */
const PLANS_CONTEXT = 'deploy-runbook:release-plans';

/**
 * The release plan stack's file: the deployed runbooks a plan may run, by state machine ARN (the StateMachineArn
 * output of each DeployRunbook-<name> stack), and who is told that a plan starts.
 */
const PlanStackFile = z.strictObject({
  runbooks: z
    .array(z.string().regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/, 'must be a state machine ARN (the StateMachineArn output of a DeployRunbook-<name> stack)'))
    .min(1)
    .max(20)
    .refine((arns) => new Set(arns).size === arns.length, 'must name each runbook once'),
  notifications: Notifications.optional(),
});

function main(): void {
  const app = new App();
  const configPath: string = app.node.tryGetContext(CONFIG_CONTEXT) ?? DEFAULT_CONFIG;
  const config = loadConfigFile(configPath);
  // Checked here too so that the message names the file rather than the construct.
  assertDeployableToAws(config, configPath);
  const account = process.env.CDK_DEFAULT_ACCOUNT;
  // Without a region from the CLI, the template is made for the region the configuration's ARNs name, not left to the deploy.
  const named = configRegion(config);
  const region = process.env.CDK_DEFAULT_REGION ?? named.region;
  // Checked here too, like the kinds, so that the message names the file rather than the construct.
  const misplaced = region ? regionProblems(config, region) : named.problems;
  if (misplaced.length > 0) throw new ConfigError(configPath, misplaced);
  new DeployRunbookStack(app, `DeployRunbook-${config.name}`, {
    config,
    env: account || region ? { account, region } : undefined,
  });
  const plansPath: unknown = app.node.tryGetContext(PLANS_CONTEXT);
  if (typeof plansPath === 'string' && plansPath !== '') releasePlanStack(app, plansPath, account);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** `DeployRunbook-ReleasePlans` over runbooks already deployed, in their region: `deploy-runbook release`'s default stack. */
function releasePlanStack(app: App, path: string, account: string | undefined): void {
  const raw = readJsonFile(path, (problem) => new ConfigError(path, [problem]));
  const parsed = PlanStackFile.safeParse(raw);
  if (!parsed.success) throw new ConfigError(path, formatIssues(parsed.error, raw));
  const { runbooks, notifications } = parsed.data;
  const regions = [...new Set([...runbooks, ...(notifications?.topicArn ? [notifications.topicArn] : []), ...(notifications?.topics ?? []).map((t) => t.topicArn)].map((arn) => arn.split(':')[3]))];
  const cliRegion = process.env.CDK_DEFAULT_REGION;
  if (regions.length > 1 || (cliRegion && regions[0] !== cliRegion)) {
    throw new ConfigError(path, [`runbooks and notifications: the plan stack runs in one region with the runbooks it starts (got ${regions.join(', ')}${cliRegion ? `; the CLI synthesizes for ${cliRegion}` : ''})`]);
  }
  new ReleasePlanStack(app, DEFAULT_PLAN_STACK, { runbookArns: runbooks, notifications, env: { account, region: regions[0] } });
}

try {
  main();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
