import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryReader } from '../../../adapters/aws/sfn-history';
import { metricRecordOf } from '../../support/metric-records';
import { sfnHistory } from '../../cli/fixtures';

const shape = (events: { type: string; state: string; stateType: string; error?: string; cause?: string }[]) =>
  events.map(({ type, state, stateType, error, cause }) => ({ type, state, stateType, ...(error ? { error } : {}), ...(cause ? { cause } : {}) }));

describe('HistoryReader', () => {
  it('turns state entered/exited events into the engine shape, with the state type from the event type', () => {
    const events = new HistoryReader().read(sfnHistory([{ pass: 'LoadConfig' }, { task: 'ValidateInput' }, { wait: 'WaitForDeployment' }, { choice: 'DeploymentReady' }]));
    expect(shape(events)).toEqual([
      { type: 'entered', state: 'LoadConfig', stateType: 'Pass' },
      { type: 'exited', state: 'LoadConfig', stateType: 'Pass' },
      { type: 'entered', state: 'ValidateInput', stateType: 'Task' },
      { type: 'exited', state: 'ValidateInput', stateType: 'Task' },
      { type: 'entered', state: 'WaitForDeployment', stateType: 'Wait' },
      { type: 'exited', state: 'WaitForDeployment', stateType: 'Wait' },
      { type: 'entered', state: 'DeploymentReady', stateType: 'Choice' },
      { type: 'exited', state: 'DeploymentReady', stateType: 'Choice' },
    ]);
    expect(events[2].at).toBeLessThan(events[3].at);
  });

  it('reports a failed attempt followed by a new schedule as retried, and one followed by the exit as caught', () => {
    const cause = JSON.stringify({ errorType: 'DeploymentFailedError', errorMessage: 'circuit breaker triggered' });
    const events = new HistoryReader().read(
      sfnHistory([
        { task: 'EvaluateAlarms', retriedErrors: [{ error: 'AlarmStateUnavailableError', cause: 'throttled' }] },
        { task: 'CheckDeployment', caught: { error: 'DeploymentFailedError', cause } },
      ]),
    );
    expect(shape(events)).toEqual([
      { type: 'entered', state: 'EvaluateAlarms', stateType: 'Task' },
      { type: 'failed', state: 'EvaluateAlarms', stateType: 'Task', error: 'AlarmStateUnavailableError', cause: 'throttled' },
      { type: 'retried', state: 'EvaluateAlarms', stateType: 'Task' },
      { type: 'exited', state: 'EvaluateAlarms', stateType: 'Task' },
      { type: 'entered', state: 'CheckDeployment', stateType: 'Task' },
      { type: 'failed', state: 'CheckDeployment', stateType: 'Task', error: 'DeploymentFailedError', cause },
      { type: 'caught', state: 'CheckDeployment', stateType: 'Task' },
      { type: 'exited', state: 'CheckDeployment', stateType: 'Task' },
    ]);
  });

  it('reports a Fail state as failing with its Error before the execution fails, as the engine does', () => {
    const events = new HistoryReader().read(sfnHistory([{ fail: 'RolledBack', error: 'RolledBack', cause: 'rolled back to v1.4.1 after SmokeTestFailed' }]));
    expect(shape(events)).toEqual([
      { type: 'entered', state: 'RolledBack', stateType: 'Fail' },
      { type: 'failed', state: 'RolledBack', stateType: 'Fail', error: 'RolledBack', cause: 'rolled back to v1.4.1 after SmokeTestFailed' },
      { type: 'failed', state: '(execution)', stateType: 'Execution', error: 'RolledBack', cause: 'rolled back to v1.4.1 after SmokeTestFailed' },
    ]);
  });

  it('reports an uncaught task error and then the execution failure', () => {
    const events = new HistoryReader().read(sfnHistory([{ task: 'Preflight', uncaught: { error: 'States.Timeout' } }]));
    expect(shape(events).slice(-2)).toEqual([
      { type: 'failed', state: 'Preflight', stateType: 'Task', error: 'States.Timeout' },
      { type: 'failed', state: '(execution)', stateType: 'Execution', error: 'States.Timeout' },
    ]);
  });

  it('names a timed-out execution States.Timeout', () => {
    const reader = new HistoryReader();
    const events = reader.read([
      { id: 1, type: 'TaskStateEntered', timestamp: new Date(0), stateEnteredEventDetails: { name: 'Deploy' } },
      { id: 2, type: 'ExecutionTimedOut', timestamp: new Date(1), executionTimedOutEventDetails: {} },
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'failed', state: '(execution)', error: 'States.Timeout' });
  });

  it('collects the version, snapshot, report and alarms from the execution input and state outputs', () => {
    const reader = new HistoryReader();
    reader.read(
      sfnHistory(
        [
          { task: 'TakeSnapshot', output: { deployment: { version: 'v1.4.2' }, snapshot: { id: 'deploy-runbook-shop-api-v1-4-2-abc' } } },
          {
            task: 'EvaluateAlarms',
            output: {
              bake: {
                firing: [{ name: 'shop-api-5xx-rate' }, { name: 'shop-api-old' }],
                newlyFiring: ['shop-api-5xx-rate'],
                firingAtBaseline: ['shop-api-old'],
              },
            },
          },
          { task: 'RecordRollback', output: { outcome: { reportKey: 'reports/shop-api/v1-4-2-abc.json' } } },
        ],
        { version: 'from-input' },
      ),
    );
    expect(reader.facts).toEqual({
      version: 'v1.4.2',
      snapshotId: 'deploy-runbook-shop-api-v1-4-2-abc',
      report: 'reports/shop-api/v1-4-2-abc.json',
      alarms: { firing: ['shop-api-5xx-rate', 'shop-api-old'], newlyFiring: ['shop-api-5xx-rate'], firingAtBaseline: ['shop-api-old'] },
      analysis: null,
      // No data-checks state ran in this history.
      dataChecks: [],
    });
  });

  it("keeps the bake's latest analysis records, and ignores what is not in their shape", () => {
    const first = metricRecordOf('latency_p95', [0.21]);
    const latest = metricRecordOf('latency_p95', [0.21, 0.61], { outcomes: ['success', 'failure'] });
    const bakeOf = (analysis: unknown) => ({ task: 'EvaluateAlarms', output: { bake: { firing: [], newlyFiring: [], firingAtBaseline: [], analysis } } });
    const reader = new HistoryReader();
    reader.read(sfnHistory([bakeOf([first]), bakeOf([latest]), bakeOf([{ name: 'latency_p95', verdict: 'maybe' }]), bakeOf('nonsense')]));
    expect(reader.facts.analysis).toEqual([latest]);
  });

  it('gives the same events however the history is split into batches', () => {
    const history = sfnHistory([
      { pass: 'LoadConfig' },
      { task: 'Deploy', retriedErrors: [{ error: 'Lambda.TooManyRequestsException' }] },
      { wait: 'WaitForDeployment' },
      { task: 'CheckDeployment', caught: { error: 'DeploymentFailedError', cause: 'x' } },
      { task: 'RollbackApp' },
      { fail: 'RolledBack', error: 'RolledBack', cause: 'y' },
    ]);
    const whole = new HistoryReader().read(history);
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: history.length - 1 }), { maxLength: 6 }), (cuts) => {
        const reader = new HistoryReader();
        const bounds = [0, ...[...cuts].sort((a, b) => a - b), history.length];
        const batched = bounds.slice(1).flatMap((end, index) => reader.read(history.slice(bounds[index], end)));
        expect(batched).toEqual(whole);
      }),
    );
  });
});
