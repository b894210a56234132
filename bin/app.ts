import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { assertDeployableToAws, ConfigError, loadConfigFile } from '../config/load';
import { configRegion, regionProblems } from '../lib/config-regions';
import { DeployRunbookStack } from '../lib/deploy-runbook-stack';

/** Context key naming the configuration file (`cdk synth -c deploy-runbook:config=path/to.json`). */
const CONFIG_CONTEXT = 'deploy-runbook:config';
const DEFAULT_CONFIG = 'config/example.json';

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
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

try {
  main();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
