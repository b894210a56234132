import { describe, expect, it } from 'vitest';
import { Analysis, type AnalysisMetric } from '../../config/schema';
import { checkpoints, failedMetrics, formatBeside, formatNumber, measureBaselines, measureCheckpoint, needsBaseline } from '../../core/analysis';
import type { MetricQuery } from '../../core/ports/metric-query';
import type { MetricBaseline, MetricRecord } from '../../core/model';
import { analysisMetric, type ScriptedAnswer, scriptedMetrics } from '../support/metric-queries';

const AT = new Date('2025-03-14T09:30:00.000Z');

describe('needsBaseline', () => {
  it.each([
    [{ successCondition: 'result <= 0.5' }, false],
    [{ successCondition: 'result <= baseline * 1.2' }, true],
    [{ successCondition: undefined, failureCondition: 'result > baseline + 50' }, true],
    [{ successCondition: 'result < 1', failureCondition: 'result > 5' }, false],
  ])('%j: %s', (conditions, expected) => {
    expect(needsBaseline(analysisMetric(conditions))).toBe(expected);
  });
});

describe('measureBaselines', () => {
  it('records each value and passes a metric with data', async () => {
    const metrics = [analysisMetric({ successCondition: 'result <= baseline * 1.2' }), analysisMetric({ name: 'errors', successCondition: 'result < 0.01' })];
    const { baselines, checks } = await measureBaselines(metrics, scriptedMetrics({ p95: [0.2], errors: [0.001234] }), AT);

    expect(baselines).toEqual([
      { name: 'p95', value: 0.2, at: AT.toISOString() },
      { name: 'errors', value: 0.001234, at: AT.toISOString() },
    ]);
    expect(checks).toEqual([
      { name: 'metric p95', ok: true, detail: 'baseline 0.2 (pass: result <= baseline * 1.2)' },
      { name: 'metric errors', ok: true, detail: 'baseline 0.001234 (pass: result < 0.01)' },
    ]);
  });

  it('fails the check when the query fails, naming the provider and its error', async () => {
    const why = 'Prometheus refused the query (HTTP 400): bad_data: 1:14: parse error: unexpected right parenthesis';
    const { baselines, checks } = await measureBaselines([analysisMetric()], scriptedMetrics({ p95: [{ error: why }] }), AT);

    expect(baselines).toEqual([{ name: 'p95', value: null, at: AT.toISOString() }]);
    expect(checks).toEqual([{ name: 'metric p95', ok: false, detail: `the prometheus query failed: ${why}` }]);
  });

  it('fails the check when a relative condition has no data to compare with', async () => {
    const metric = analysisMetric({ successCondition: 'result <= baseline * 1.2' });
    const { checks } = await measureBaselines([metric], scriptedMetrics({ p95: [null] }), AT);

    expect(checks).toEqual([
      {
        name: 'metric p95',
        ok: false,
        detail: 'no data before the deploy, and its condition compares with the baseline (pass: result <= baseline * 1.2): give it a window with data, an absolute condition, or dryRun',
      },
    ]);
  });

  it('passes an absolute condition without data: there is nothing to compare with yet', async () => {
    const metric = analysisMetric({ name: 'log-errors', successCondition: undefined, failureCondition: 'result > 0' });
    const { baselines, checks } = await measureBaselines([metric], scriptedMetrics({ 'log-errors': [null] }), AT);

    expect(baselines).toEqual([{ name: 'log-errors', value: null, at: AT.toISOString() }]);
    expect(checks).toEqual([{ name: 'metric log-errors', ok: true, detail: 'no data yet (fail: result > 0)' }]);
  });

  it('never blocks on a dry-run metric, saying so', async () => {
    const metrics = [analysisMetric({ dryRun: true }), analysisMetric({ name: 'relative', dryRun: true, successCondition: 'result <= baseline' })];
    const { checks } = await measureBaselines(metrics, scriptedMetrics({ p95: [{ error: 'connection refused' }], relative: [null] }), AT);

    expect(checks.map((check) => check.ok)).toEqual([true, true]);
    expect(checks[0].detail).toBe('the prometheus query failed: connection refused (dry run: reported, never deciding)');
    expect(checks[1].detail).toMatch(/^no data before the deploy.* \(dry run: reported, never deciding\)$/);
  });

  it('reads NaN as no data', async () => {
    const nan: MetricQuery = { value: async () => Number.NaN };
    const { baselines, checks } = await measureBaselines([analysisMetric({ successCondition: 'result <= baseline' })], nan, AT);
    expect(baselines[0].value).toBeNull();
    expect(checks[0].ok).toBe(false);
  });

  it('lets an error that is not a provider’s through: a defect of the code, not a failed check', async () => {
    const broken: MetricQuery = { value: async () => Promise.reject(new TypeError('cannot read properties of undefined')) };
    await expect(measureBaselines([analysisMetric()], broken, AT)).rejects.toThrow(TypeError);
  });

  it('asks every metric at once', async () => {
    const metrics = ['a', 'b', 'c'].map((name) => analysisMetric({ name }));
    const query = allAskedFirst(metrics.length, 1);
    const { baselines } = await measureBaselines(metrics, query, AT);
    expect(baselines.map((b) => b.value)).toEqual([1, 1, 1]);
  }, 5000);
});

/**
 * A query that answers only once `expected` queries are waiting: run one after the other, the first would
 * wait for ever and the test time out.
 */
function allAskedFirst(expected: number, value: number): MetricQuery {
  const waiting: (() => void)[] = [];
  return {
    value: () =>
      new Promise((resolve) => {
        waiting.push(() => resolve(value));
        if (waiting.length === expected) for (const release of waiting) release();
      }),
  };
}

interface BakeOptions {
  readonly checkpoints?: string;
  readonly checks?: number;
  readonly pollSeconds?: number;
  readonly baselines?: MetricBaseline[];
}

/** The analysis through a bake: every evaluation from the first to the last, each given the records of the one before; the records after each. */
async function bake(metrics: AnalysisMetric[], query: MetricQuery, options: BakeOptions = {}): Promise<MetricRecord[][]> {
  const { checks = 5, pollSeconds = 60, baselines = [] } = options;
  const analysis = Analysis.parse({ metrics, checkpoints: options.checkpoints });
  const history: MetricRecord[][] = [];
  let records: MetricRecord[] = [];
  for (let check = 1; check <= checks; check += 1) {
    const at = new Date(AT.getTime() + check * pollSeconds * 1000);
    records = await measureCheckpoint({ analysis, bake: { durationSeconds: checks * pollSeconds, pollSeconds }, bakeChecks: checks, check, baselines, records }, query, at);
    history.push(records);
  }
  return history;
}

/** The outcome of each measurement of the only metric, by check. */
function outcomes(records: readonly MetricRecord[]): [number, string][] {
  return records[0].measurements.map((m) => [m.check, m.outcome]);
}

/** The verdict of the only metric after each evaluation. */
function verdicts(history: MetricRecord[][]): string[] {
  return history.map((records) => records[0].verdict);
}

function scripted(...answers: ScriptedAnswer[]) {
  return scriptedMetrics({ p95: answers });
}

describe('measureCheckpoint', () => {
  it('starts a record from the baseline and judges a passing measurement', async () => {
    const metric = analysisMetric({ successCondition: 'result <= baseline * 1.2' });
    const [first] = await bake([metric], scripted(0.22), { checks: 1, baselines: [{ name: 'p95', value: 0.2, at: AT.toISOString() }] });

    expect(first).toEqual([
      {
        name: 'p95',
        condition: 'pass: result <= baseline * 1.2',
        baseline: 0.2,
        dryRun: false,
        measurements: [{ check: 1, at: '2025-03-14T09:31:00.000Z', value: 0.22, outcome: 'success', detail: null }],
        failures: 0,
        consecutiveErrors: 0,
        verdict: 'passing',
      },
    ]);
  });

  it('fails a measurement above the relative bound, saying what the bound came to', async () => {
    const metric = analysisMetric({ successCondition: 'result <= baseline * 1.2' });
    const history = await bake([metric], scripted(0.6), { checks: 3, baselines: [{ name: 'p95', value: 0.2, at: AT.toISOString() }] });

    expect(history[0][0]).toMatchObject({ failures: 1, verdict: 'failed' });
    expect(history[0][0].measurements[0]).toMatchObject({ outcome: 'failure', value: 0.6, detail: '0.6 does not meet "result <= baseline * 1.2" (baseline 0.2, so <= 0.24)' });
    expect(failedMetrics(history[0])).toEqual(['metric p95: 1 failed measurement(s), the last at check 1: 0.6 does not meet "result <= baseline * 1.2" (baseline 0.2, so <= 0.24)']);
  });

  it('measures only at the checkpoints, and always at the last evaluation', async () => {
    const query = scripted(0.1);
    const history = await bake([analysisMetric()], query, { checkpoints: '2m, 4m', checks: 5 });

    expect(outcomes(history[4])).toEqual([
      [2, 'success'],
      [4, 'success'],
      [5, 'success'],
    ]);
    expect(query.asked.map((asked) => asked.at)).toEqual(['2025-03-14T09:32:00.000Z', '2025-03-14T09:34:00.000Z', '2025-03-14T09:35:00.000Z']);
    expect(history[0][0].measurements).toEqual([]);
    expect(history[2]).toEqual(history[1]);
  });

  it('measures at every evaluation without checkpoints', async () => {
    const history = await bake([analysisMetric()], scripted(0.1), { checks: 3 });
    expect(outcomes(history[2]).map(([check]) => check)).toEqual([1, 2, 3]);
  });

  it('waits initialDelaySeconds into the bake before the first measurement', async () => {
    const history = await bake([analysisMetric({ initialDelaySeconds: 150 })], scripted(0.1), { checks: 5 });
    expect(outcomes(history[4]).map(([check]) => check)).toEqual([3, 4, 5]);
  });

  it('tolerates failureLimit failed measurements and fails on the next one', async () => {
    const history = await bake([analysisMetric({ failureLimit: 2 })], scripted(0.9, 0.1, 0.9, 0.9), { checks: 5 });

    expect(history.map((records) => records[0].failures)).toEqual([1, 1, 2, 3, 3]);
    expect(verdicts(history)).toEqual(['passing', 'passing', 'passing', 'failed', 'failed']);
  });

  it('fails after more than consecutiveErrorLimit errors in a row; a good measurement resets the count', async () => {
    const error = { error: 'Prometheus at https://prometheus.example.com did not answer: fetch failed' };
    const history = await bake([analysisMetric({ consecutiveErrorLimit: 1 })], scripted(error, 0.1, error, error, 0.1), { checks: 5 });

    expect(history.map((records) => records[0].consecutiveErrors)).toEqual([1, 0, 1, 2, 2]);
    expect(verdicts(history)).toEqual(['passing', 'passing', 'passing', 'failed', 'failed']);
    expect(history[3][0].failures).toBe(0);
    expect(failedMetrics(history[3])).toEqual([`metric p95: its query failed 2 time(s) in a row: ${error.error}`]);
  });

  it.each([
    ['failure', 'failure', 'failed'],
    ['success', 'success', 'passing'],
    ['inconclusive', 'inconclusive', 'passing'],
  ])('counts a measurement without data as noData says: %s', async (noData, outcome, verdict) => {
    const [first] = await bake([analysisMetric({ noData })], scripted(null), { checks: 3 });
    expect(first[0].measurements[0]).toMatchObject({ value: null, outcome, detail: `no data (noData: ${noData})` });
    expect(first[0].verdict).toBe(verdict);
  });

  it('is inconclusive when a relative condition has no baseline', async () => {
    const [first] = await bake([analysisMetric({ successCondition: 'result <= baseline * 1.2' })], scripted(0.3), { checks: 3 });
    expect(first[0]).toMatchObject({ baseline: null, verdict: 'passing', failures: 0 });
    expect(first[0].measurements[0]).toMatchObject({ outcome: 'inconclusive', detail: 'no baseline to compare with' });
  });

  it('with both conditions, passes on the success one, fails on the failure one and is inconclusive between them', async () => {
    const metric = analysisMetric({ successCondition: 'result < 1', failureCondition: 'result > 5' });
    const [, , third] = await bake([metric], scripted(0.5, 3, 7), { checks: 4 });

    expect(third[0].measurements.map((m) => [m.outcome, m.detail])).toEqual([
      ['success', null],
      ['inconclusive', '3 meets neither condition'],
      ['failure', '7 meets the failure condition "result > 5"'],
    ]);
    expect(third[0].verdict).toBe('failed');
  });

  it('with a failure condition alone, passes every value that does not meet it', async () => {
    const metric = analysisMetric({ successCondition: undefined, failureCondition: 'result > 0' });
    const history = await bake([metric], scripted(0, 0, 2), { checks: 3 });
    expect(outcomes(history[2])).toEqual([
      [1, 'success'],
      [2, 'success'],
      [3, 'failure'],
    ]);
  });

  it('keeps a failed metric failed and does not measure it again', async () => {
    const query = scripted(0.9, 0.1);
    const history = await bake([analysisMetric()], query, { checks: 4 });

    expect(verdicts(history)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(query.asked).toHaveLength(1);
    expect(history[3][0].measurements).toHaveLength(1);
  });

  it('fails at the last evaluation a metric that never had a passing measurement', async () => {
    const history = await bake([analysisMetric({ noData: 'inconclusive' })], scripted(null), { checks: 3 });

    expect(verdicts(history)).toEqual(['passing', 'passing', 'failed']);
    expect(failedMetrics(history[2])).toEqual(['metric p95: no measurement passed (no data (noData: inconclusive))']);
  });

  it('keeps at the last evaluation a metric that passed once, even if later ones were inconclusive', async () => {
    const history = await bake([analysisMetric({ noData: 'inconclusive' })], scripted(0.1, null), { checks: 3 });
    expect(verdicts(history)).toEqual(['passing', 'passing', 'passing']);
  });

  it('reports a failed dry-run metric in its record but never among the failed metrics', async () => {
    const metrics = [analysisMetric({ dryRun: true }), analysisMetric({ name: 'errors', successCondition: 'result < 0.01' })];
    const [first] = await bake(metrics, scriptedMetrics({ p95: [0.9], errors: [0.001] }), { checks: 2 });

    expect(first.map((record) => [record.name, record.dryRun, record.verdict])).toEqual([
      ['p95', true, 'failed'],
      ['errors', false, 'passing'],
    ]);
    expect(failedMetrics(first)).toEqual([]);
  });

  it('measures every metric of a checkpoint at once', async () => {
    const metrics = ['a', 'b', 'c', 'd'].map((name) => analysisMetric({ name }));
    const [first] = await bake(metrics, allAskedFirst(metrics.length, 0.1), { checks: 1 });
    expect(first.map((record) => record.measurements[0].outcome)).toEqual(['success', 'success', 'success', 'success']);
  }, 5000);

  it('records a provider’s error as an error measurement, and lets any other error through', async () => {
    const [first] = await bake([analysisMetric()], scripted({ error: 'bad_data: parse error' }), { checks: 2 });
    expect(first[0].measurements[0]).toMatchObject({ value: null, outcome: 'error', detail: 'bad_data: parse error' });

    const broken: MetricQuery = { value: async () => Promise.reject(new RangeError('defect')) };
    await expect(bake([analysisMetric()], broken, { checks: 1 })).rejects.toThrow(RangeError);
  });
});

describe('checkpoints', () => {
  it('reads the configured schedule in bake evaluations', () => {
    expect(checkpoints(Analysis.parse({ checkpoints: '2m, 5m, every 5m' }), 60, 20)).toEqual([2, 5, 10, 15, 20]);
    expect(checkpoints(Analysis.parse({}), 60, 3)).toEqual([1, 2, 3]);
  });
});

describe('failedMetrics', () => {
  it('names nothing when every metric passes', () => {
    expect(failedMetrics([])).toEqual([]);
  });

  it('says no measurement passed when the last check closes a metric whose tolerated failure came before inconclusive ones', async () => {
    const metric = analysisMetric({ successCondition: 'result < 1', failureCondition: 'result > 5', failureLimit: 1 });
    const history = await bake([metric], scripted(7, 3, 3), { checks: 3 });

    expect(verdicts(history)).toEqual(['passing', 'passing', 'failed']);
    expect(failedMetrics(history[2])).toEqual(['metric p95: no measurement passed (3 meets neither condition; 1 failed measurement(s) earlier)']);
  });

  it('names the failed measurement when the last check ends on one the limit still tolerated', async () => {
    const metric = analysisMetric({ failureLimit: 5 });
    const history = await bake([metric], scripted(null, 0.9), { checks: 2 });
    expect(failedMetrics(history[1])).toEqual(['metric p95: 2 failed measurement(s), the last at check 2: 0.9 does not meet "result <= 0.5"']);
  });
});

describe('formatNumber', () => {
  it.each([
    [0, '0'],
    [42, '42'],
    [-3, '-3'],
    [0.5, '0.5'],
    [0.123456, '0.1235'],
    [-0.987654, '-0.9877'],
    [1.23456, '1.235'],
    [0.001234567, '0.001235'],
    [0.0001, '0.0001'],
    [0.00001234, '1.234e-5'],
    [1234.5678, '1235'],
    [2.5e15 + 0.5, '2.500e+15'],
    [3e20, '300000000000000000000'],
  ])('writes %s as %s', (value, text) => {
    expect(formatNumber(value)).toBe(text);
  });
});

describe('formatBeside', () => {
  it.each([
    [0.50001, 0.5, '0.50001'],
    [0.4999999, 0.5, '0.4999999'],
    [1235.4, 1235, '1235.4'],
    [0.9, 0.5, '0.9'],
    [0.5, 0.5, '0.5'],
    [0.123456, null, '0.1235'],
  ])('writes %s beside the bound %s as %s, never reading as the bound it was judged against', (value, bound, text) => {
    expect(formatBeside(value, bound)).toBe(text);
  });

  it('names a value just over an absolute failure bound so that the reason does not contradict itself', async () => {
    const metric = analysisMetric({ successCondition: undefined, failureCondition: 'result > 0.5' });
    const history = await bake([metric], scripted(0.50001), { checks: 1 });
    expect(failedMetrics(history[0])).toEqual(['metric p95: 1 failed measurement(s), the last at check 1: 0.50001 meets the failure condition "result > 0.5"']);
  });
});
