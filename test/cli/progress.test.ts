import { describe, expect, it } from 'vitest';
import { HistoryReader } from '../../adapters/aws/sfn-history';
import { Progress } from '../../cli/progress';
import { verdictStates } from '../../cli/steps';
import { parseConfig } from '../../config/load';
import exampleConfig from '../../config/example.json';
import type { StateEvent } from '../../core/state-event';
import { runRunbook, type TaskCall } from '../../local/engine/engine';
import { loadDefinition } from '../../statemachines/definition';
import { bake, type ScriptItem, scriptOf, sfnHistory, STARTED_AT } from './fixtures';

const verdicts = verdictStates(loadDefinition());

function render(events: readonly StateEvent[], options: { tty?: boolean; heartbeatMs?: number } = {}) {
  let text = '';
  const progress = new Progress({ out: { write: (t: string) => (text += t) }, tty: options.tty ?? false, verdicts, heartbeatMs: options.heartbeatMs, frameMs: 0, now: () => STARTED_AT });
  events.forEach((event) => progress.push(event));
  progress.finish(events.at(-1)?.at ?? STARTED_AT);
  return { lines: text.split('\n').filter(Boolean), progress, text };
}

const fromScript = (script: ScriptItem[]) => new HistoryReader().read(sfnHistory(script));

describe('Progress', () => {
  it('prints one line per task with its duration and folds a polling loop into one line', () => {
    const { lines } = render(
      fromScript([
        { pass: 'LoadConfig' },
        { task: 'ValidateInput', ms: 300 },
        { task: 'TakeSnapshot', ms: 800 },
        { pass: 'StartSnapshotPoll' },
        { wait: 'WaitForSnapshot', ms: 30_000 },
        { task: 'CheckSnapshot' },
        { pass: 'CountSnapshotPoll' },
        { choice: 'SnapshotReady' },
        { wait: 'WaitForSnapshot', ms: 30_000 },
        { task: 'CheckSnapshot' },
        { pass: 'CountSnapshotPoll' },
        { choice: 'SnapshotReady' },
        { pass: 'StartBake' },
        ...bake(30),
        { task: 'RecordRelease' },
        { succeed: 'DeploymentSucceeded' },
      ]),
      { heartbeatMs: Number.POSITIVE_INFINITY },
    );
    expect(lines).toEqual([
      '✔ ValidateInput 600ms',
      '✔ TakeSnapshot 1.1s',
      '✔ CheckSnapshot ×2 1m01s',
      '✔ EvaluateAlarms ×30 30m20s',
      '✔ RecordRelease 400ms',
    ]);
  });

  it('announces the rollback once with its cause and indents the rollback steps', () => {
    const cause = JSON.stringify({ errorType: 'DeploymentFailedError', errorMessage: 'ECS circuit breaker: 3 tasks failed to start' });
    const { lines } = render(
      fromScript([
        { task: 'Deploy' },
        { wait: 'WaitForDeployment' },
        { task: 'CheckDeployment', caught: { error: 'DeploymentFailedError', cause } },
        { task: 'RollbackApp' },
        { wait: 'WaitForRollback' },
        { task: 'CheckRollback' },
        { pass: 'SkipRestore' },
        { task: 'VerifyRollback' },
        { task: 'RecordRollback' },
        { fail: 'RolledBack', error: 'RolledBack', cause: 'rolled back' },
      ]),
    );
    expect(lines).toEqual([
      '✔ Deploy 400ms',
      '✖ CheckDeployment 1.5s — DeploymentFailedError',
      '↩ rolling back: DeploymentFailedError: ECS circuit breaker: 3 tasks failed to start',
      '  ✔ RollbackApp 400ms',
      '  ✔ CheckRollback 1.5s',
      '  ✔ VerifyRollback 400ms',
      '  ✔ RecordRollback 400ms',
    ]);
  });

  it('marks a task failed when the definition records a failure verdict after it (SmokeTestsFailed)', () => {
    const { lines } = render(fromScript([{ task: 'SmokeTest' }, { choice: 'SmokeTestsPassed' }, { pass: 'SmokeTestsFailed' }, { task: 'RollbackApp' }]));
    expect(lines).toEqual(['✖ SmokeTest 400ms — SmokeTestFailed', '↩ rolling back: SmokeTestFailed', '  ✔ RollbackApp 400ms']);
  });

  it('counts retries on the step', () => {
    const { lines } = render(fromScript([{ task: 'EvaluateAlarms', retriedErrors: [{ error: 'AlarmStateUnavailableError' }, { error: 'AlarmStateUnavailableError' }] }]));
    expect(lines).toEqual(['✔ EvaluateAlarms 1.0s (2 retries)']);
  });

  it('marks a task failed when its error ends the execution without a Catch', () => {
    const { lines, progress } = render(fromScript([{ task: 'Preflight', uncaught: { error: 'States.Timeout' } }]));
    expect(lines).toEqual(['✖ Preflight 400ms — States.Timeout']);
    expect(progress.steps.map((s) => s.status)).toEqual(['failed']);
  });

  it('prints a heartbeat for a long loop in plain mode, at most once per heartbeat interval', () => {
    const { lines } = render(fromScript([{ pass: 'StartBake' }, ...bake(5)]), { heartbeatMs: 150_000 });
    expect(lines).toEqual(['… EvaluateAlarms ×3 3m01s', '✔ EvaluateAlarms ×5 5m03s']);
  });

  it('keeps a 30-check bake to a handful of lines with the default heartbeat (5 minutes)', () => {
    const { lines } = render(fromScript([{ pass: 'StartBake' }, ...bake(30)]));
    expect(lines.at(-1)).toMatch(/^✔ EvaluateAlarms ×30 /);
    expect(lines.length).toBeLessThanOrEqual(7);
    expect(lines.slice(0, -1).every((line) => line.startsWith('… EvaluateAlarms ×'))).toBe(true);
  });

  it('draws a spinner on a terminal and replaces it with the step line', () => {
    let text = '';
    const progress = new Progress({ out: { write: (t: string) => (text += t), isTTY: true }, frameMs: 0, now: () => STARTED_AT + 5_000, verdicts });
    const events = fromScript([{ task: 'Deploy' }, { task: 'SmokeTest' }]);
    progress.push(events[0]);
    progress.push(events[1]);
    progress.tick();
    expect(text).toContain('\r\x1b[2K⠹ Deploy 4.9s');
    events.slice(2).forEach((event) => progress.push(event));
    progress.finish(events.at(-1)?.at ?? 0);
    expect(text.endsWith('\r\x1b[2K✔ SmokeTest 400ms\n')).toBe(true);
    expect(text).toContain('\r\x1b[2K✔ Deploy 400ms\n');
  });

  it('renders a local engine run and the same run replayed as Step Functions history identically', async () => {
    const config = parseConfig(exampleConfig);
    const engine = await runRunbook({
      config: { ...config, database: null, migrations: null },
      input: { version: 'v2' },
      handler: ({ state }: TaskCall) => {
        if (state === 'ValidateInput') return { action: 'deploy', version: 'v2', bakeChecks: 1 };
        if (state === 'Preflight') return { running: { version: 'v1', image: null, ref: 'td:1' }, baseline: { alarms: [] } };
        if (state === 'CheckDeployment') throw Object.assign(new Error('circuit breaker triggered'), { name: 'DeploymentFailedError' });
        if (state === 'CheckRollback') return { status: 'completed' };
        if (state === 'VerifyRollback') return { passed: true };
        if (state === 'RecordRollback') return { cause: 'rolled back to v1 after DeploymentFailedError' };
        return {};
      },
    });
    expect(engine.error).toBe('RolledBack');
    const replayed = new HistoryReader().read(sfnHistory(scriptOf(engine.events)));
    const withoutTimes = (lines: string[]) => lines.map((line) => line.replace(/ \d+(\.\d)?(ms|s)\b|\d+m\d\ds/g, ' <t>'));
    const local = render(engine.events).lines;
    expect(withoutTimes(render(replayed).lines)).toEqual(withoutTimes(local));
    expect(local).toContain('↩ rolling back: DeploymentFailedError: circuit breaker triggered');
    expect(replayed.map(({ type, state, error }) => ({ type, state, error }))).toEqual(engine.events.map(({ type, state, error }) => ({ type, state, error })));
  });
});
