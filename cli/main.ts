import { Command, CommanderError, Option } from 'commander';
import { DEFAULT_WAIT_MS } from '../local/rehearsal/rehearse';
import { PLAN_SCENARIOS } from '../local/rehearsal/plan';
import { SCENARIOS } from '../local/rehearsal/scenarios';
import { approve } from './commands/approve';
import { DEFAULT_DRILL_WORKDIR, drillCommand } from './commands/drill';
import { rehearseCommand } from './commands/rehearse';
import { release } from './commands/release';
import { start } from './commands/start';
import { status } from './commands/status';
import { EXIT_CODES_HELP, ExitCode } from './exit-codes';
import { type CliIo, processIo } from './io';
import { jsonLine } from './json-output';
import { terminalLines, terminalText } from '../core/untrusted-text';
import { UsageError } from './usage-error';

/**
 * The operator's CLI. Returns the exit code instead of exiting, so that tests call it in-process with
 * their own streams and mocked AWS clients.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  let exitCode: number = ExitCode.Succeeded;
  const run = async (json: boolean, command: () => Promise<number>): Promise<void> => {
    try {
      exitCode = await command();
    } catch (error) {
      exitCode = reportError(error, json, io);
    }
  };

  const program = new Command('deploy-runbook')
    .description('Start, follow and answer deploy-runbook executions on AWS Step Functions, or rehearse one on this machine.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);

  const startCommand = program
    .command('start')
    .description('start a deployment; with --wait, follow it and exit with its outcome')
    .requiredOption('--version <version>', 'the version to deploy, e.g. v1.4.2 or a commit SHA')
    .option('--image <uri>', 'the container image (required for an ECS target)')
    .option('--reason <text>', 'why: kept in the evidence report')
    .option('--requested-by <name>', 'who asks (default: $GITHUB_ACTOR or $USER)')
    .option('--wait', 'follow the execution until it ends')
    .option('--json', 'print one JSON object on stdout at the end (progress goes to stderr)')
    .addOption(new Option('--state-machine-arn <arn>', 'the state machine to start').conflicts(['stack', 'config']))
    .addOption(new Option('--stack <name>', "read the StateMachineArn output of this stack (default: DeployRunbook-<name> of the configuration)").conflicts('config'))
    .option('--config <file>', 'the runbook configuration (default: the "deploy-runbook:config" context of ./cdk.json)')
    .option('--region <region>', 'AWS region (default: the ARN\'s region, $AWS_REGION)')
    .addHelpText('after', EXIT_CODES_HELP);
  startCommand.action(() => run(startCommand.opts().json === true, () => start(startCommand.opts(), io)));

  const releaseCommand = program
    .command('release')
    .description('run a release plan: its stages in order through their runbooks, gates between them, the deployed stages rolled back if one fails')
    .requiredOption('--plan <file>', 'the release plan (JSON): stages naming a runbook stack or state machine ARN, versions, gates')
    .option('--wait', 'follow the plan and each stage until it ends')
    .option('--json', 'print one JSON object on stdout at the end (progress goes to stderr)')
    .option('--reason <text>', 'why: kept in the plan report and each stage')
    .option('--requested-by <name>', 'who asks (default: $GITHUB_ACTOR or $USER)')
    .addOption(new Option('--state-machine-arn <arn>', 'the release plan state machine').conflicts('stack'))
    .option('--stack <name>', 'read the PlanStateMachineArn output of this stack (default: DeployRunbook-ReleasePlans)')
    .option('--region <region>', 'AWS region (default: $AWS_REGION)')
    .addHelpText('after', EXIT_CODES_HELP);
  releaseCommand.action(() => run(releaseCommand.opts().json === true, () => release(releaseCommand.opts(), io)));

  const statusCommand = program
    .command('status')
    .description("show an execution's steps and outcome")
    .argument('<execution-arn>', 'the execution, as start prints it')
    .option('--wait', 'follow the execution until it ends')
    .option('--json', 'print one JSON object on stdout (progress goes to stderr)')
    .option('--region <region>', "AWS region (default: the ARN's region)")
    .addHelpText('after', EXIT_CODES_HELP);
  statusCommand.action((executionArn: string) => run(statusCommand.opts().json === true, () => status(executionArn, statusCommand.opts(), io)));

  const approveCommand = program
    .command('approve')
    .description("approve (or --reject) what an execution waits for — a database restore, an automatic rollback, a release plan's gate — taking the request from the stack's approval activity")
    .requiredOption('--execution <arn>', 'the waiting execution, as the approval request names it')
    .option('--reject', 'reject: roll back without restoring the database; keep the new version instead of rolling back; roll back a plan at its gate')
    .option('--by <name>', 'who decides (default: $GITHUB_ACTOR or $USER)')
    .option('--comment <text>', 'why, kept in the evidence report')
    .option('--region <region>', "AWS region (default: the ARN's region)");
  approveCommand.action(() => run(false, () => approve(approveCommand.opts(), io)));

  const drill = program
    .command('drill')
    .description("prove the database's backup restorable: back it up, restore it into a scratch database, compare and check the copy, drop it")
    .option('--local', "run the drill on this machine against the PostgreSQL in the configuration's urlEnv, instead of on the deployed runbook")
    .option('--config <file>', 'the runbook configuration (--local: default examples/rehearsal/runbook.json of this package; on AWS: names the stack, default from cdk.json)')
    .addOption(new Option('--stack <name>', "on AWS: read the StateMachineArn output of this stack (default: DeployRunbook-<name> of the configuration)").conflicts('config'))
    .addOption(new Option('--state-machine-arn <arn>', 'on AWS: the runbook state machine to start').conflicts(['stack', 'config']))
    .option('--region <region>', 'on AWS: the region (default: the ARN\'s, else AWS_REGION)')
    .option('--wait', 'on AWS: follow the drill to its end and exit with its outcome (--local always does)')
    .option('--workdir <dir>', `--local: where the store (ledger, lock, backups, reports) is kept (default: ${DEFAULT_DRILL_WORKDIR})`)
    .option('--reason <text>', 'why: kept in the evidence report')
    .option('--requested-by <name>', 'who asks (default: $GITHUB_ACTOR or $USER)')
    .option('--json', 'print one JSON object on stdout at the end (progress goes to stderr)')
    .addHelpText('after', EXIT_CODES_HELP);
  drill.action(() => run(drill.opts().json === true, () => drillCommand(drill.opts(), io)));

  const rehearse = program
    .command('rehearse')
    .description('rehearse a deployment on this machine, no AWS account: the same state machine, a throwaway PostgreSQL, the demo app')
    .option('--config <file>', 'a rehearsal configuration (default: examples/rehearsal/runbook.json of this package)')
    .option('--scenario <name>', `what happens to the release: ${[...SCENARIOS, ...PLAN_SCENARIOS].map((s) => s.name).join(', ')}`, SCENARIOS[0].name)
    .option('--plan <file>', 'the release plan the plan scenarios rehearse (default: examples/rehearsal/plan/plan.json of this package)')
    .option('--json', 'print one JSON object on stdout at the end (progress goes to stderr)')
    .option('--port <n>', 'run the demo app on this port (the smoke tests and metrics follow)')
    .option('--workdir <dir>', 'the workspace: artifact store and process log (default: .rehearsal/<time>-<scenario>)')
    .option('--keep', 'leave the app, PostgreSQL and Prometheus running afterwards, and print how to reach and stop them')
    .option('--use-database-url', "rehearse against the database in the configuration's urlEnv (DATABASE_URL) instead of a throwaway one: it is migrated, and renamed aside and restored on rollback")
    .option('--wait-ms <n>', `how long every Wait state lasts (default: ${DEFAULT_WAIT_MS})`)
    .option('--rollback-approval <answer>', 'play the person asked before an automatic rollback (rollbackApproval.required is switched on): approve (roll back), reject (keep the new version) or timeout (rollbackApproval.onTimeout decides)')
    .addHelpText('after', `\nScenarios:\n${[...SCENARIOS, ...PLAN_SCENARIOS].map((s) => `  ${s.name.padEnd(18)}${s.description}`).join('\n')}\n${EXIT_CODES_HELP}`);
  rehearse.action(() => run(rehearse.opts().json === true, () => rehearseCommand(rehearse.opts(), io)));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Succeeded : ExitCode.Usage;
    throw error;
  }
  return exitCode;
}

/** Usage errors exit 64, anything else 1; with --json the error is also the one JSON object. */
function reportError(error: unknown, json: boolean, io: CliIo): number {
  const failure = error instanceof Error ? error : new Error(String(error));
  const usage = failure instanceof UsageError;
  io.stderr.write(`deploy-runbook: ${usage ? '' : `${terminalText(failure.name)}: `}${terminalLines(failure.message)}\n`);
  if (json) {
    io.stdout.write(
      jsonLine({ outcome: 'failed', executionArn: null, version: null, steps: [], durationMs: 0, error: failure.name, cause: failure.message, report: null, snapshotId: null, alarms: null }),
    );
  }
  return usage ? ExitCode.Usage : ExitCode.Failed;
}
