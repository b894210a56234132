import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { metricRecordOf } from '../support/metric-records';
import { bake, EXECUTION_ARN, runUsageError, type ScriptItem, scriptedExecution, STARTED_AT, STATE_MACHINE_ARN, testIo } from './fixtures';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v1.4.2';
const SNAPSHOT = 'deploy-runbook-shop-api-v1-4-2-20250102t030405z-1a2b3c4d';
const REPORT = 'reports/shop-api/v1-4-2-20250102t030405z-1a2b3c4d.json';
const REPO_ROOT = resolve(import.meta.dirname, '../..');

const args = ['start', '--version', 'v1.4.2', '--image', IMAGE, '--state-machine-arn', STATE_MACHINE_ARN];

const beforeDeploy: ScriptItem[] = [
  { pass: 'LoadConfig' },
  { task: 'ValidateInput', output: { deployment: { version: 'v1.4.2' } } },
  { task: 'AcquireLock' },
  { choice: 'RouteAction' },
  { task: 'Preflight' },
  { pass: 'RememberRunningVersion' },
  { choice: 'DatabaseConfigured' },
  { task: 'TakeSnapshot', output: { snapshot: { id: SNAPSHOT, status: 'creating' } } },
  { pass: 'StartSnapshotPoll' },
  { wait: 'WaitForSnapshot', ms: 30_000 },
  { task: 'CheckSnapshot' },
  { pass: 'CountSnapshotPoll' },
  { choice: 'SnapshotReady' },
  { wait: 'WaitForSnapshot', ms: 30_000 },
  { task: 'CheckSnapshot', output: { snapshot: { id: SNAPSHOT, status: 'available' } } },
  { pass: 'CountSnapshotPoll' },
  { choice: 'SnapshotReady' },
  { task: 'RecordBackup' },
  { task: 'Deploy' },
  { pass: 'StartDeploymentPoll' },
  { wait: 'WaitForDeployment', ms: 15_000 },
  { task: 'CheckDeployment' },
  { pass: 'CountDeploymentPoll' },
  { choice: 'DeploymentReady' },
  { choice: 'MigrationsConfigured' },
];

const succeeded: ScriptItem[] = [
  ...beforeDeploy,
  { task: 'SmokeTest' },
  { choice: 'SmokeTestsPassed' },
  { pass: 'StartBake' },
  ...bake(3),
  { task: 'RecordRelease', output: { outcome: { result: 'succeeded', reportKey: REPORT } } },
  { task: 'ReleaseLock' },
  { task: 'NotifySucceeded' },
  { succeed: 'DeploymentSucceeded' },
];

const ROLLBACK_CAUSE = 'rolled back to v1.4.1 after SmokeTestFailed: 1 of 6 checks failed: health';
const rolledBack: ScriptItem[] = [
  ...beforeDeploy,
  { task: 'SmokeTest' },
  { choice: 'SmokeTestsPassed' },
  { pass: 'SmokeTestsFailed' },
  { task: 'RollbackApp' },
  { pass: 'StartRollbackPoll' },
  { wait: 'WaitForRollback', ms: 15_000 },
  { task: 'CheckRollback' },
  { pass: 'CountRollbackPoll' },
  { choice: 'RollbackReady' },
  { choice: 'RestoreDecision' },
  { pass: 'SkipRestore' },
  { task: 'VerifyRollback' },
  { choice: 'RollbackVerified' },
  { task: 'RecordRollback', output: { outcome: { result: 'rolled-back', reportKey: REPORT } } },
  { task: 'ReleaseLockAfterRollback' },
  { task: 'NotifyRolledBack' },
  { fail: 'RolledBack', error: 'RolledBack', cause: ROLLBACK_CAUSE },
];

const rollbackFailed: ScriptItem[] = [
  ...beforeDeploy.slice(0, -6),
  { task: 'Deploy' },
  { wait: 'WaitForDeployment' },
  { task: 'CheckDeployment', caught: { error: 'DeploymentFailedError', cause: JSON.stringify({ errorType: 'DeploymentFailedError', errorMessage: 'circuit breaker' }) } },
  { task: 'RollbackApp', caught: { error: 'DeploymentFailedError', cause: JSON.stringify({ errorType: 'DeploymentFailedError', errorMessage: 'task definition shop-api:41 is INACTIVE' }) } },
  { task: 'NotifyRollbackFailed' },
  { task: 'KeepLockForHuman' },
  { task: 'RecordRollbackFailure' },
  { fail: 'RollbackFailed', error: 'RollbackFailed', cause: 'task definition shop-api:41 is INACTIVE' },
];

function scriptExecution(script: ScriptItem[], described: { status: string; error?: string; cause?: string }, history?: { pageSize: number; revealPerPoll: number }) {
  return scriptedExecution(sfn, script, described, { history });
}

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
});

describe('deploy-runbook start', () => {
  it('starts an execution named after the version with the validated input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(STARTED_AT) });
    const io = testIo({ env: { GITHUB_ACTOR: 'octocat' } });

    const code = await main([...args, '--reason', 'release 42'], io);

    expect(code).toBe(0);
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      name: 'v1.4.2-20250102T030405Z',
      input: JSON.stringify({ action: 'deploy', version: 'v1.4.2', image: IMAGE, requestedBy: 'octocat', reason: 'release 42' }),
    });
    expect(sfn).not.toHaveReceivedCommand(GetExecutionHistoryCommand);
    expect(io.regions).toEqual(['eu-west-1']);
    expect(io.out()).toBe(`▶ deployment v1.4.2 started\n  execution: ${EXECUTION_ARN}\n`);
  });

  it('follows a successful execution through the paginated history and exits 0', async () => {
    const events = scriptExecution(succeeded, { status: 'SUCCEEDED' });
    const io = testIo();

    const code = await main([...args, '--wait'], io);

    expect(code).toBe(0);
    const historyCalls = sfn.commandCalls(GetExecutionHistoryCommand).map((call) => call.args[0].input);
    expect(historyCalls[0]).toEqual({ executionArn: EXECUTION_ARN, reverseOrder: true, maxResults: 1000, includeExecutionData: true, nextToken: undefined });
    expect(historyCalls.some((input) => input.nextToken === '4')).toBe(true);
    const polls = historyCalls.filter((input) => input.nextToken === undefined).length;
    expect(polls).toBe(Math.ceil(events.length / 15));
    expect(io.sleeps).toEqual(Array(polls - 1).fill(2000));
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(DescribeExecutionCommand, { executionArn: EXECUTION_ARN });
    const describeCall = sfn.commandCalls(DescribeExecutionCommand)[0];
    expect(sfn.commandCalls(GetExecutionHistoryCommand).every((call) => call.calledBefore(describeCall))).toBe(true);

    const lines = io.out().split('\n');
    expect(lines[0]).toBe('▶ deploying v1.4.2 (execution v1.4.2-20250102T030405Z)');
    expect(lines).toContain('✔ CheckSnapshot ×2 1m01s');
    expect(lines.filter((line) => line.includes('EvaluateAlarms'))).toEqual([expect.stringMatching(/^✔ EvaluateAlarms ×3 3m0\ds$/)]);
    expect(lines.some((line) => line.startsWith('✔ deployment v1.4.2 succeeded in '))).toBe(true);
    expect(lines).toContain(`  snapshot:  ${SNAPSHOT}`);
    expect(lines).toContain(`  report:    ${REPORT}`);
    expect(lines.some((line) => line.includes('Wait') || line.includes('Count') || line.includes('Ready'))).toBe(false);
  });

  it('exits 2 and shows the rollback path when the execution failed with RolledBack', async () => {
    scriptExecution(rolledBack, { status: 'FAILED', error: 'RolledBack', cause: ROLLBACK_CAUSE });
    const io = testIo();

    const code = await main([...args, '--wait'], io);

    expect(code).toBe(2);
    const lines = io.out().split('\n');
    const smoke = lines.indexOf('✖ SmokeTest 400ms — SmokeTestFailed');
    expect(smoke).toBeGreaterThan(0);
    expect(lines.slice(smoke + 1, smoke + 6)).toEqual([
      '↩ rolling back: SmokeTestFailed',
      '  ✔ RollbackApp 400ms',
      expect.stringMatching(/^ {2}✔ CheckRollback /),
      '  ✔ VerifyRollback 400ms',
      '  ✔ RecordRollback 400ms',
    ]);
    expect(lines.some((line) => line.startsWith(`↩ deployment v1.4.2 rolled back after `) && line.endsWith(`: ${ROLLBACK_CAUSE}`))).toBe(true);
  });

  it('exits 1 when the rollback itself failed', async () => {
    scriptExecution(rollbackFailed, { status: 'FAILED', error: 'RollbackFailed', cause: 'task definition shop-api:41 is INACTIVE' });
    const io = testIo();

    const code = await main([...args, '--wait'], io);

    expect(code).toBe(1);
    expect(io.out()).toContain('↩ rolling back: DeploymentFailedError: circuit breaker\n  ✖ RollbackApp 400ms — DeploymentFailedError\n');
    expect(io.out()).toContain('✖ deployment v1.4.2 failed after ');
    expect(io.out()).toContain(': RollbackFailed: task definition shop-api:41 is INACTIVE');
  });

  it('prints exactly one JSON object on stdout with --json, progress on stderr', async () => {
    scriptExecution(rolledBack, { status: 'FAILED', error: 'RolledBack', cause: ROLLBACK_CAUSE });
    const io = testIo();

    const code = await main([...args, '--wait', '--json'], io);

    expect(code).toBe(2);
    const stdout = io.out();
    expect(stdout.trim().split('\n')).toHaveLength(1);
    const result = JSON.parse(stdout);
    expect(Object.keys(result)).toEqual(['outcome', 'states', 'durationMs', 'report', 'error', 'cause', 'executionArn', 'analysis', 'dataChecks']);
    expect(result).toMatchObject({ outcome: 'rolled-back', report: REPORT, error: 'RolledBack', cause: ROLLBACK_CAUSE, executionArn: EXECUTION_ARN });
    expect(result.states).toContainEqual({ name: 'SmokeTest', status: 'failed', ms: 400 });
    expect(result.states).toContainEqual({ name: 'CheckSnapshot', status: 'succeeded', ms: 61_302 });
    expect(result.durationMs).toBeGreaterThan(0);
    expect(io.err()).toContain('↩ rolling back: SmokeTestFailed');
  });

  it('appends a Markdown summary to GITHUB_STEP_SUMMARY', async () => {
    scriptExecution(rolledBack, { status: 'FAILED', error: 'RolledBack', cause: ROLLBACK_CAUSE });
    const summary = join(mkdtempSync(join(tmpdir(), 'deploy-runbook-summary-')), 'summary.md');
    writeFileSync(summary, '# earlier step\n');
    const io = testIo({ env: { GITHUB_STEP_SUMMARY: summary } });

    await main([...args, '--wait'], io);

    const markdown = readFileSync(summary, 'utf8');
    expect(markdown.startsWith('# earlier step\n### deploy-runbook: `v1.4.2` ↩️ rolled back\n')).toBe(true);
    expect(markdown).toContain(`| Cause | \`${ROLLBACK_CAUSE}\` |`);
    expect(markdown).toContain(`| Snapshot | \`${SNAPSHOT}\` |`);
    expect(markdown).toContain(`| Report | \`${REPORT}\` |`);
    expect(markdown).toContain('| SmokeTest | ✖ `SmokeTestFailed` | 400ms |');
    expect(markdown).toContain('| ↩ RollbackApp | ✔ | 400ms |');
    expect(markdown).toContain(`https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${encodeURIComponent(EXECUTION_ARN)}`);
  });

  describe('with analysis metrics', () => {
    const latency = metricRecordOf('latency_p95', [0.21, 0.61], { outcomes: ['success', 'failure'] });
    const errors = metricRecordOf('errors\x1b[2J', [0, 1], { condition: 'fail: result > 5', baseline: null, dryRun: true });
    const regressed: ScriptItem[] = [
      ...beforeDeploy,
      { task: 'SmokeTest' },
      { choice: 'SmokeTestsPassed' },
      { pass: 'StartBake' },
      { wait: 'WaitDuringBake', ms: 60_000 },
      { task: 'EvaluateAlarms', output: { bake: { firing: [], newlyFiring: [], firingAtBaseline: [], analysis: [latency, errors] } } },
      { choice: 'BakeVerdict' },
      { pass: 'AlarmFired' },
      ...rolledBack.slice(rolledBack.findIndex((item) => 'task' in item && item.task === 'RollbackApp')),
    ];

    it('ends with the verdict table: baseline, each checkpoint, threshold, verdict, the dry run marked', async () => {
      scriptExecution(regressed, { status: 'FAILED', error: 'RolledBack', cause: ROLLBACK_CAUSE });
      const io = testIo();

      expect(await main([...args, '--wait'], io)).toBe(2);

      expect(io.out().split('\n').slice(-6)).toEqual([
        '',
        'analysis: 1 of 2 metric(s) FAILED',
        '  Metric         Baseline  check 1  check 2  Threshold                      Verdict',
        '  latency_p95    0.2       0.21     0.61 ✖   pass <= 0.24 (baseline * 1.2)  FAILED',
        // The name's ESC is shown, never sent to the terminal.
        '  errors\\x1b[2J  -         0        1        fail > 5                       passing (dry run)',
        '',
      ]);
    });

    it('puts the verdicts in --json', async () => {
      scriptExecution(regressed, { status: 'FAILED', error: 'RolledBack', cause: ROLLBACK_CAUSE });
      const io = testIo();

      await main([...args, '--wait', '--json'], io);

      const { analysis } = JSON.parse(io.out());
      expect(analysis).toMatchObject([
        { name: 'latency_p95', baseline: 0.2, checkpoints: [{ check: 1, value: 0.21, outcome: 'success' }, { check: 2, value: 0.61, outcome: 'failure' }], verdict: 'failed', dryRun: false },
        { name: 'errors\x1b[2J', dryRun: true, verdict: 'passing', thresholds: [{ kind: 'fail', comparison: '>', bound: 5 }] },
      ]);
      expect(analysis[0].thresholds).toEqual([{ kind: 'pass', condition: 'result <= baseline * 1.2', comparison: '<=', bound: expect.closeTo(0.24, 10), relative: true }]);
    });

    it('draws the verdict table and the runbook with the path taken in the step summary', async () => {
      scriptExecution(regressed, { status: 'FAILED', error: 'RolledBack', cause: ROLLBACK_CAUSE });
      const summary = join(mkdtempSync(join(tmpdir(), 'deploy-runbook-summary-')), 'summary.md');
      await main([...args, '--wait'], testIo({ env: { GITHUB_STEP_SUMMARY: summary } }));

      const markdown = readFileSync(summary, 'utf8');
      expect(markdown).toContain('#### Analysis\n\n| Metric | Baseline | check 1 | check 2 | Threshold | Verdict |');
      expect(markdown).toContain('| `latency_p95` | 0.2 | 0.21 | 0.61 ✖ | `pass <= 0.24 (baseline * 1.2)` | **FAILED** |');
      expect(markdown).toContain('| `errors\\x1b[2J` | - | 0 | 1 | `fail > 5` | passing (dry run) |');
      const chart = /#### Path through the runbook\n\n.*\n\n```mermaid\n(flowchart TD\n[\s\S]*?)```\n/.exec(markdown)?.[1] ?? '';
      const classOf = (id: string) => [...chart.matchAll(/^ {2}class (\S+) (\w+)$/gm)].find((line) => line[1].split(',').includes(id))?.[2];
      expect(['n_ValidateInput', 'n_CheckSnapshot', 'n_SmokeTest', 'n_EvaluateAlarms'].map(classOf)).toEqual(['passed', 'passed', 'passed', 'passed']);
      expect(classOf('n_AlarmFired')).toBe('failed');
      expect(['n_RollbackApp', 'n_VerifyRollback', 'n_RolledBack'].map(classOf)).toEqual(['rollback', 'rollback', 'rollback']);
      expect(classOf('n_RecordRelease')).toBe('idle');
      expect(markdown).not.toContain('\x1b');
    });
  });

  describe('with SQL checks', () => {
    const userPresent = { name: 'smoke-test user present', passed: true, value: '1', rows: 1, expected: '= 1', reason: null, durationMs: 3 };
    const report = (phase: string, results: object[], startedAt: string) => ({ phase, passed: results.every((r) => (r as { passed: boolean }).passed), summary: `${phase} checks`, results, comparison: null, startedAt, durationMs: 5 });
    const preflightChecks = report('preflight', [userPresent], '2025-01-02T03:04:06.000Z');
    // The value is text the database sent: its ESC is shown, never sent to the terminal.
    const missingSku = { name: 'every item has a sku', passed: false, value: '3002\x1b[2J', rows: 1, expected: '= 0', reason: 'returned "3002\\u001b[2J", expected 0', durationMs: 2 };
    const timedOut = { name: 'orders kept', passed: false, value: null, rows: null, expected: '≥ 1000', reason: 'timed out after 30 s (checks.statementTimeoutSeconds; SQLSTATE 57014: canceling statement due to statement timeout)', durationMs: 30_000 };
    const dataGate = report('after-migrations', [userPresent, missingSku, timedOut], '2025-01-02T03:05:00.000Z');
    const restoreCheck = report('after-restore', [userPresent], '2025-01-02T03:07:00.000Z');
    const GATE_CAUSE = "rolled back to v1.4.1 after DataCheckFailed: 2 of 3 SQL checks failed (after-migrations)";
    // Step Functions' state output carries every slot written so far: a report is shown once, where it was written.
    const gated: ScriptItem[] = [
      { pass: 'LoadConfig' },
      { task: 'ValidateInput', output: { deployment: { version: 'v1.4.2' } } },
      { task: 'Preflight' },
      { task: 'PreflightDataChecks', output: { preflightChecks } },
      { choice: 'PreflightChecksPassed' },
      { task: 'FingerprintData', output: { preflightChecks } },
      { task: 'Deploy', output: { preflightChecks } },
      { task: 'StartMigrations', output: { preflightChecks } },
      { task: 'AfterMigrationChecks', output: { preflightChecks, dataGate } },
      { choice: 'DataGatePassed' },
      { pass: 'DataGateFailed' },
      { task: 'RollbackApp', output: { preflightChecks, dataGate } },
      { task: 'AdvanceRestore', output: { preflightChecks, dataGate } },
      { task: 'VerifyRestoredData', output: { preflightChecks, dataGate, restoreCheck } },
      { choice: 'RestoredDataVerified' },
      { task: 'VerifyRollback', output: { preflightChecks, dataGate, restoreCheck } },
      { task: 'RecordRollback', output: { preflightChecks, dataGate, restoreCheck, outcome: { result: 'rolled-back', reportKey: REPORT } } },
      { fail: 'RolledBack', error: 'RolledBack', cause: GATE_CAUSE },
    ];

    it('prints each check under the step that ran it, and counts them at the end', async () => {
      scriptExecution(gated, { status: 'FAILED', error: 'RolledBack', cause: GATE_CAUSE });
      const io = testIo();

      expect(await main([...args, '--wait'], io)).toBe(2);

      const lines = io.out().split('\n');
      const after = (step: RegExp, count: number) => lines.slice(lines.findIndex((line) => step.test(line)) + 1).slice(0, count);
      expect(after(/^✔ PreflightDataChecks /, 2)).toEqual(['    ✔ smoke-test user present (preflight): 1, expected = 1', '✔ FingerprintData 400ms']);
      expect(lines).toContain('✖ AfterMigrationChecks 400ms — DataCheckFailed');
      expect(after(/^✖ AfterMigrationChecks /, 4)).toEqual([
        '    ✔ smoke-test user present (after-migrations): 1, expected = 1',
        '    ✖ every item has a sku (after-migrations): 3002\\x1b[2J, expected = 0',
        '    ✖ orders kept (after-migrations): timed out after 30 s (checks.statementTimeoutSeconds; SQLSTATE 57014: canceling statement due to statement timeout)',
        `↩ rolling back: DataCheckFailed`,
      ]);
      expect(after(/^ {2}✔ VerifyRestoredData /, 1)).toEqual(['      ✔ smoke-test user present (after-restore): 1, expected = 1']);
      // Each check once, though every later state output carries the report again.
      expect(lines.filter((line) => /^ +[✔✖] .*\((preflight|after-migrations|after-restore)\): /.test(line))).toHaveLength(5);
      expect(lines).toContain("  sql checks: 5 run, 2 FAILED: 'every item has a sku' (after-migrations), 'orders kept' (after-migrations)");
      expect(io.out()).not.toContain('\x1b');
    });

    it('puts every check with its phase, value, comparison and verdict in --json', async () => {
      scriptExecution(gated, { status: 'FAILED', error: 'RolledBack', cause: GATE_CAUSE });
      const io = testIo();

      expect(await main([...args, '--wait', '--json'], io)).toBe(2);

      const outcome = (phase: string, check: { name: string; passed: boolean; value: unknown; rows: number | null; expected: string; reason: string | null }) => ({
        phase,
        name: check.name,
        passed: check.passed,
        value: check.value,
        rows: check.rows,
        expected: check.expected,
        reason: check.reason,
      });
      expect(JSON.parse(io.out()).dataChecks).toEqual([
        outcome('preflight', userPresent),
        outcome('after-migrations', userPresent),
        outcome('after-migrations', missingSku),
        outcome('after-migrations', timedOut),
        outcome('after-restore', userPresent),
      ]);
      // The value's control character is a JSON escape, never raw on stdout.
      expect(io.out()).not.toContain('\x1b');
      expect(io.err()).toContain('    ✖ every item has a sku (after-migrations): 3002\\x1b[2J, expected = 0');
    });

    it('adds the table of checks to the step summary', async () => {
      scriptExecution(gated, { status: 'FAILED', error: 'RolledBack', cause: GATE_CAUSE });
      const summary = join(mkdtempSync(join(tmpdir(), 'deploy-runbook-summary-')), 'summary.md');
      await main([...args, '--wait'], testIo({ env: { GITHUB_STEP_SUMMARY: summary } }));

      expect(readFileSync(summary, 'utf8')).toContain(
        [
          '#### SQL checks',
          '',
          '| Phase | Check | Observed | Expected | Result |',
          '|---|---|---|---|---|',
          '| preflight | `smoke-test user present` | `1` | `= 1` | passed |',
          '| after-migrations | `smoke-test user present` | `1` | `= 1` | passed |',
          '| after-migrations | `every item has a sku` | `3002\\x1b[2J` | `= 0` | **FAILED**: `returned "3002\\u001b[2J", expected 0` |',
          '| after-migrations | `orders kept` | `query failed` | `≥ 1000` | **FAILED**: `timed out after 30 s (checks.statementTimeoutSeconds; SQLSTATE 57014: canceling statement due to statement timeout)` |',
          '| after-restore | `smoke-test user present` | `1` | `= 1` | passed |',
        ].join('\n'),
      );
    });
  });

  it('reads the state machine from the StateMachineArn output of --stack', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'DeployRunbook-shop-api', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(0), Outputs: [{ OutputKey: 'BucketName', OutputValue: 'b' }, { OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE_ARN }] }],
    });
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN, startDate: new Date(STARTED_AT) });
    const io = testIo({ env: { AWS_REGION: 'eu-west-1' } });

    const code = await main(['start', '--version', 'v1.4.2', '--stack', 'DeployRunbook-shop-api'], io);

    expect(code).toBe(0);
    expect(cloudFormation).toHaveReceivedCommandExactlyOnceWith(DescribeStacksCommand, { StackName: 'DeployRunbook-shop-api' });
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: STATE_MACHINE_ARN });
  });

  it('derives the stack name from the configuration in cdk.json when no state machine is given', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'x', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(0), Outputs: [{ OutputKey: 'StateMachineArn', OutputValue: STATE_MACHINE_ARN }] }] });
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN });

    expect(await main(['start', '--version', 'v1.4.2', '--image', IMAGE], testIo({ cwd: REPO_ROOT }))).toBe(0);
    expect(await main(['start', '--version', 'v1.4.2', '--config', 'examples/rehearsal/runbook.json'], testIo({ cwd: REPO_ROOT }))).toBe(0);

    expect(cloudFormation).toHaveReceivedNthCommandWith(DescribeStacksCommand, 1, { StackName: 'DeployRunbook-shop-api' });
    expect(cloudFormation).toHaveReceivedNthCommandWith(DescribeStacksCommand, 2, { StackName: 'DeployRunbook-demo-app' });
  });

  it('fails with exit 1 naming the stack when it has no StateMachineArn output', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 's', StackStatus: 'CREATE_COMPLETE', CreationTime: new Date(0), Outputs: [{ OutputKey: 'BucketName', OutputValue: 'b' }] }] });
    const io = testIo();

    const code = await main(['start', '--version', 'v1.4.2', '--stack', 'DeployRunbook-other'], io);

    expect(code).toBe(1);
    expect(io.err()).toBe('deploy-runbook: StackLookupError: stack DeployRunbook-other has no StateMachineArn output (outputs: BucketName); is it a deploy-runbook stack?\n');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('fails with exit 1 and the way to resume when following the started execution fails', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION_ARN });
    sfn.on(GetExecutionHistoryCommand).rejects(Object.assign(new Error('User is not authorized to perform: states:GetExecutionHistory'), { name: 'AccessDeniedException' }));
    const io = testIo();

    const code = await main([...args, '--wait'], io);

    expect(code).toBe(1);
    expect(io.err()).toBe(
      `deploy-runbook: FollowError: lost track of ${EXECUTION_ARN} (User is not authorized to perform: states:GetExecutionHistory); the execution goes on: deploy-runbook status ${EXECUTION_ARN} --wait\n`,
    );
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it.each([
    [['start', '--version', 'v 1', '--state-machine-arn', STATE_MACHINE_ARN], '--version: must start with a letter or digit'],
    [['start', '--version', 'v1', '--image', 'Not An Image', '--state-machine-arn', STATE_MACHINE_ARN], '--image: must be an image reference'],
    [['start', '--version', 'v1', '--state-machine-arn', 'arn:aws:lambda:eu-west-1:123456789012:function:x'], '--state-machine-arn: must be a state machine ARN'],
    [['start', '--state-machine-arn', STATE_MACHINE_ARN], "required option '--version <version>' not specified"],
    [['start', '--version', 'v1', '--state-machine-arn', STATE_MACHINE_ARN, '--stack', 's'], "option '--state-machine-arn <arn>' cannot be used with option '--stack <name>'"],
    [['start', '--version', 'v1'], 'no state machine given: pass --state-machine-arn <arn>, --stack <name> or --config <file>'],
    [['start', '--version', 'v1', '--config', 'missing.json'], 'missing.json is not a valid deploy-runbook configuration'],
    [['start', '--version', 'v1', '--unknown'], "unknown option '--unknown'"],
  ])('fails with exit 64 before any AWS call when the usage is wrong: %j', async (argv, message) => {
    const io = await runUsageError(argv, [sfn, cloudFormation]);

    expect(io.err()).toContain(message);
  });

  it('fails when the version is invalid, with --json printing the error as the one object', async () => {
    const io = testIo();

    const code = await main(['start', '--version', '-bad', '--state-machine-arn', STATE_MACHINE_ARN, '--json'], io);

    expect(code).toBe(64);
    expect(JSON.parse(io.out())).toMatchObject({ outcome: 'failed', error: 'UsageError', cause: expect.stringContaining('--version: must start with a letter or digit') });
  });
});
