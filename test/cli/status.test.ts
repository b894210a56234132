import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { EXECUTION_ARN, runUsageError, sfnHistory, STARTED_AT, serveHistory, testIo } from './fixtures';

const sfn = mockClient(SFNClient);

beforeEach(() => sfn.reset());

describe('deploy-runbook status', () => {
  it('shows the steps so far and the running step, and exits 3 while the execution runs', async () => {
    serveHistory(sfn, sfnHistory([{ task: 'ValidateInput' }, { task: 'Deploy' }, { wait: 'WaitForDeployment' }, { task: 'CheckDeployment' }, { wait: 'WaitForDeployment' }]));
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION_ARN, status: 'RUNNING', startDate: new Date(STARTED_AT), stateMachineArn: 'x' });
    const io = testIo({ now: new Date(STARTED_AT + 90_000) });

    const code = await main(['status', EXECUTION_ARN], io);

    expect(code).toBe(3);
    expect(io.out()).toBe(
      ['✔ ValidateInput 400ms', '✔ Deploy 400ms', '… CheckDeployment 1m28s', '… deployment v1.4.2 still running after 1m30s', `  execution: ${EXECUTION_ARN}`, ''].join('\n'),
    );
    expect(io.sleeps).toEqual([]);
    expect(io.regions).toEqual(['eu-west-1']);
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: EXECUTION_ARN });
  });

  it('exits with the outcome of a finished execution and prints it as JSON', async () => {
    const events = sfnHistory([{ task: 'SmokeTest' }, { pass: 'SmokeTestsFailed' }, { task: 'RollbackApp' }, { fail: 'RolledBack', error: 'RolledBack', cause: 'rolled back to v1.4.1' }]);
    serveHistory(sfn, events);
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION_ARN,
      status: 'FAILED',
      error: 'RolledBack',
      cause: 'rolled back to v1.4.1',
      startDate: new Date(STARTED_AT),
      stopDate: events.at(-1)?.timestamp,
      stateMachineArn: 'x',
    });
    const io = testIo();

    const code = await main(['status', EXECUTION_ARN, '--json'], io);

    expect(code).toBe(2);
    expect(JSON.parse(io.out())).toEqual({
      outcome: 'rolled-back',
      states: [
        { name: 'SmokeTest', status: 'failed', ms: 400 },
        { name: 'RollbackApp', status: 'succeeded', ms: 400 },
      ],
      durationMs: 1301,
      report: null,
      error: 'RolledBack',
      cause: 'rolled back to v1.4.1',
      executionArn: EXECUTION_ARN,
      analysis: [],
      dataChecks: [],
    });
  });

  it('shows hostile text from the input as text: no terminal escape, line rewrite, bidi override or Markdown reaches the terminal or the summary', async () => {
    // What a caller could put in an input that ValidateInput refuses, and that the InvalidInput cause then quotes.
    const hostile = 'v9\x1b]52;c;ZWNobyBwd25lZA==\x07\r✔ deployment succeeded\x9b2J\u202e<img src=x onerror=alert(1)> | [login](https://evil.example) `x`\nInjected: line';
    const cause = `version: must start with a letter or digit (got ${hostile})`;
    const events = sfnHistory([{ task: 'ValidateInput', caught: { error: 'InvalidInputError', cause } }, { fail: 'InvalidInput', error: 'InvalidInput', cause }], { version: hostile });
    serveHistory(sfn, events);
    sfn.on(DescribeExecutionCommand).resolves({ executionArn: EXECUTION_ARN, status: 'FAILED', error: 'InvalidInput', cause, startDate: new Date(STARTED_AT), stopDate: events.at(-1)?.timestamp, stateMachineArn: 'x' });
    const summary = join(mkdtempSync(join(tmpdir(), 'deploy-runbook-summary-')), 'summary.md');
    const io = testIo({ env: { GITHUB_STEP_SUMMARY: summary } });

    expect(await main(['status', EXECUTION_ARN], io)).toBe(1);
    const markdown = readFileSync(summary, 'utf8');
    const json = testIo();
    await main(['status', EXECUTION_ARN, '--json'], json);

    for (const output of [io.out(), io.err(), markdown, json.out()]) {
      expect(output).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
      expect(output).not.toContain('\nInjected');
    }
    expect(io.out()).toContain('\\x1b]52;c;ZWNobyBwd25lZA==\\x07\\x0d✔ deployment succeeded\\x9b2J\\u202e<img');
    const causeRow = markdown.split('\n').find((line) => line.startsWith('| Cause |'));
    expect(causeRow).toMatch(/^\| Cause \| `[^`]*` \|$/);
    expect(causeRow?.replaceAll('\\|', '').split('|')).toHaveLength(4);
    expect(JSON.parse(json.out()).cause).toBe(cause);
  });

  it('fails with exit 64 when the argument is not an execution ARN', async () => {
    const io = await runUsageError(['status', 'arn:aws:states:eu-west-1:123456789012:stateMachine:deploy'], [sfn]);

    expect(io.err()).toContain('execution-arn: must be an execution ARN');
    expect(io.err()).toContain('(got "arn:aws:states:eu-west-1:123456789012:stateMachine:deploy")');
  });
});
