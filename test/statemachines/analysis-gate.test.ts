import { describe, expect, it } from 'vitest';
import { measureWatch, WatchCheckpointEvent } from '../../core/tasks/evaluate-alarms/evaluate-alarms';
import { validateInput, ValidateInputEvent } from '../../core/tasks/validate-input/validate-input';
import type { TaskCall } from '../../local/engine/engine';
import type { Json } from '../../statemachines/definition';
import { alarmsIn } from '../support/builders';
import { scriptedMetrics, type ScriptedAnswer } from '../support/metric-queries';
import { analyzeInput, ending, failure, runScripted, type Script, testConfig, watchStatus } from './harness';

const CLOCK = { now: () => new Date('2025-03-04T10:00:00.000Z') };
const PROMETHEUS = { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'q' };
const P95 = { name: 'p95', provider: { ...PROMETHEUS, query: 'p95' }, successCondition: 'result <= baseline * 2' };
const ERRORS = { name: 'errors', provider: { ...PROMETHEUS, query: 'errors' }, failureCondition: 'result > 0.01' };
const CPU = { name: 'cpu', provider: { ...PROMETHEUS, query: 'cpu' }, successCondition: 'result < 70', dryRun: true };
/** A runbook with analysis metrics and no post-release watch: an analysis gate needs none. */
const analyzed = () => testConfig({ analysis: { metrics: [P95, ERRORS, CPU] } });
const PLAN_TRIGGER = { name: 'shop', execution: 'arn:aws:states:eu-west-1:123456789012:execution:ReleasePlan:plan-1', stage: 'production', version: 'v1.5.0' };
const GATE_STEPS = ['ValidateInput', 'CheckAnalysis', 'MeasureAnalysis'];
/** Every state that takes, releases or changes something: an analysis gate reaches none. */
const CHANGING = ['AcquireLock', 'CheckRollbackWindow', 'RollbackApp', 'ReleaseLock', 'ReleaseLockAfterRollback', 'KeepLockForHuman', 'RecordWatchCheckpoint', 'NotifyRolledBack'];

const realValidateInput: Script = (call: TaskCall) => validateInput(ValidateInputEvent.parse(call.event), { clock: CLOCK, alarms: alarmsIn('OK', '2025-03-04T09:58:00.000Z') });
/** The real measurement as MeasureAnalysis' handler, each metric answering from `script` (baselines: p95 0.2). */
const measuring =
  (script: Record<string, ScriptedAnswer[]>): Script =>
  (call: TaskCall) =>
    measureWatch(WatchCheckpointEvent.parse(call.event), { metrics: scriptedMetrics(script), clock: CLOCK });

const FAILED_P95 = 'Metric p95: 1 failed measurement(s), the last at check 1: 0.9 does not meet "result <= baseline * 2" (baseline 0.2, so <= 0.4)';

describe("a release plan's analysis gate in the runbook ({action: analyze})", () => {
  it('measures the latest release once against its kept baselines, without the lock, and succeeds AnalysisPassed', async () => {
    const input = analyzeInput({ plan: PLAN_TRIGGER });
    const run = await runScripted({ config: analyzed(), input, tasks: { ValidateInput: realValidateInput, MeasureAnalysis: measuring({ p95: [0.3], errors: [0] }) } });

    expect(ending(run)).toEqual({ status: 'SUCCEEDED', terminal: 'AnalysisPassed', error: null, cause: null });
    expect(run.states).toEqual(GATE_STEPS);
    expect(run.log.event('CheckAnalysis')).toMatchObject({ operation: 'check-analysis', config: { name: 'shop-api' }, deployment: { action: 'analyze', metrics: null, plan: PLAN_TRIGGER } });
    expect(run.log.event('MeasureAnalysis')).toMatchObject({ operation: 'analyze', config: { analysis: { metrics: [{ name: 'p95' }, { name: 'errors' }, { name: 'cpu' }] } }, watch: { decision: 'measure' } });
  });

  it('fails AnalysisFailed naming the metric, its value and its bound; nothing is rolled back, no lock taken', async () => {
    const run = await runScripted({ config: analyzed(), input: analyzeInput(), tasks: { ValidateInput: realValidateInput, MeasureAnalysis: measuring({ p95: [0.9], errors: [0] }) } });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'AnalysisFailed', error: 'AnalysisFailed', cause: FAILED_P95 });
    expect(run.states).toEqual(GATE_STEPS);
    expect(run.states.filter((state) => CHANGING.includes(state))).toEqual([]);
  });

  it('measures only the metrics the gate names', async () => {
    const run = await runScripted({ config: analyzed(), input: analyzeInput({ metrics: ['errors'] }), tasks: { ValidateInput: realValidateInput, MeasureAnalysis: measuring({ errors: [0] }) } });

    expect(run.terminal).toBe('AnalysisPassed');
    expect(run.log.event('MeasureAnalysis')).toMatchObject({ deployment: { metrics: ['errors'] } });
  });

  it.each(['no-release', 'rolled-back', 'superseded', 'deployment-running'] as const)('fails closed, AnalysisUnavailable, when CheckAnalysis says %s: nothing measured', async (decision) => {
    const run = await runScripted({ config: analyzed(), input: analyzeInput(), tasks: { CheckAnalysis: watchStatus(decision, `why: ${decision}`) as unknown as Json } });

    expect(ending(run)).toEqual({ status: 'FAILED', terminal: 'AnalysisUnavailable', error: 'AnalysisUnavailable', cause: `why: ${decision}` });
    expect(run.states).toEqual(['ValidateInput', 'CheckAnalysis']);
  });

  it('fails closed, AnalysisUnavailable, when the metrics cannot be measured at all', async () => {
    const run = await runScripted({ config: analyzed(), input: analyzeInput(), tasks: { MeasureAnalysis: failure('TypeError', 'the metric source crashed') } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'AnalysisUnavailable', error: 'AnalysisUnavailable' });
    expect(run.cause).toContain('the metric source crashed');
    expect(run.states).toEqual(GATE_STEPS);
  });

  it.each([
    ['a runbook without analysis metrics', testConfig(), analyzeInput(), 'action: "analyze" needs an analysis metric that decides: analysis.metrics is empty (got "analyze")'],
    [
      'a runbook whose every metric is dryRun',
      testConfig({ analysis: { metrics: [CPU] } }),
      analyzeInput(),
      'action: "analyze" needs an analysis metric that decides: every metric of analysis.metrics is dryRun (cpu) (got "analyze")',
    ],
    ['an unknown metric', analyzed(), analyzeInput({ metrics: ['p95', 'p59'] }), "metrics[1]: it names no metric of this runbook; the deciding metrics of analysis.metrics are 'p95', 'errors' (got 'p59')"],
    ['a dry-run metric', analyzed(), analyzeInput({ metrics: ['cpu'] }), "metrics[0]: it is dryRun: it is reported, never decides; the deciding metrics of analysis.metrics are 'p95', 'errors' (got 'cpu')"],
    ['an empty list', analyzed(), analyzeInput({ metrics: [] }), 'metrics:'],
    ['an unknown field', analyzed(), analyzeInput({ checks: ['backfill complete'] }), 'checks'],
  ])('refuses %s: InvalidInput naming the field and the value, nothing measured', async (_name, config, input, message) => {
    const run = await runScripted({ config, input, tasks: { ValidateInput: realValidateInput } });

    expect(ending(run)).toMatchObject({ status: 'FAILED', terminal: 'InvalidInput' });
    expect((JSON.parse(run.cause ?? 'null') as { errorMessage: string }).errorMessage).toContain(message);
    expect(run.states).toEqual(['ValidateInput']);
  });
});
