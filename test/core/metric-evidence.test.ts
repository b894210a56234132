import { describe, expect, it } from 'vitest';
import { markdownVerdictTable, metricVerdict, thresholdsOf, thresholdText, verdictTable, verdictText } from '../../core/metric-evidence';
import { metricRecordOf } from '../support/metric-records';

describe('thresholdsOf', () => {
  it('computes a relative condition from the baseline, and keeps an absolute one as written', () => {
    const thresholds = thresholdsOf('pass: result <= baseline * 1.2; fail: result > 0.05', 0.2);
    expect(thresholds).toEqual([
      { kind: 'pass', condition: 'result <= baseline * 1.2', comparison: '<=', bound: expect.closeTo(0.24, 10), relative: true },
      { kind: 'fail', condition: 'result > 0.05', comparison: '>', bound: 0.05, relative: false },
    ]);
    expect(thresholds.map(thresholdText)).toEqual(['pass <= 0.24 (baseline * 1.2)', 'fail > 0.05']);
  });

  it('reads shifted baselines and a bare baseline', () => {
    expect(thresholdsOf('fail: result >= baseline + 50', 120)[0].bound).toBe(170);
    expect(thresholdsOf('fail: result < baseline - 5', 120)[0].bound).toBe(115);
    expect(thresholdsOf('pass: result != baseline', 3)[0]).toMatchObject({ bound: 3, relative: true });
  });

  it('leaves the bound unknown when the baseline had no data, and says so', () => {
    const [threshold] = thresholdsOf('pass: result <= baseline * 1.2', null);
    expect(threshold.bound).toBeNull();
    expect(thresholdText(threshold)).toBe('pass <= baseline * 1.2 (no baseline)');
    // An absolute condition needs no baseline.
    expect(thresholdsOf('fail: result > 0.05', null)[0].bound).toBe(0.05);
  });

  it('leaves out a part that is not a condition rather than guessing', () => {
    expect(thresholdsOf('pass: result <= ; fail: result > 1; nonsense', 1)).toEqual([expect.objectContaining({ kind: 'fail', bound: 1 })]);
    expect(thresholdsOf('', 1)).toEqual([]);
  });
});

describe('metricVerdict', () => {
  it('carries the baseline, each checkpoint, the last value and the verdict', () => {
    const record = metricRecordOf('latency_p95', [0.21, 0.61], { outcomes: ['success', 'failure'], checks: [2, 5] });
    expect(metricVerdict(record)).toMatchObject({
      name: 'latency_p95',
      baseline: 0.2,
      checkpoints: [
        { check: 2, value: 0.21, outcome: 'success' },
        { check: 5, value: 0.61, outcome: 'failure' },
      ],
      last: 0.61,
      verdict: 'failed',
    });
  });

  it('has no last value when the metric was never measured', () => {
    expect(metricVerdict(metricRecordOf('cpu', [])).last).toBeNull();
  });

  it('writes the verdict with the dry run marked', () => {
    expect(verdictText({ verdict: 'failed', dryRun: false })).toBe('FAILED');
    expect(verdictText({ verdict: 'failed', dryRun: true })).toBe('FAILED (dry run)');
    expect(verdictText({ verdict: 'passing', dryRun: true })).toBe('passing (dry run)');
  });
});

describe('verdictTable', () => {
  const latency = metricRecordOf('latency_p95', [0.21, 0.22, 0.61, null], { outcomes: ['success', 'success', 'failure', 'failure'], checks: [2, 5, 10, 15] });
  const errors = metricRecordOf('errors', [3, null, 25], { condition: 'fail: result > 20', baseline: null, dryRun: true, outcomes: ['success', 'error', 'failure'], checks: [1, 2, 5] });

  it('has a column per checkpoint any metric was measured at, and - where one was not', () => {
    const table = verdictTable([latency, errors].map(metricVerdict));
    expect(table.headers).toEqual(['Metric', 'Baseline', 'check 1', 'check 2', 'check 5', 'check 10', 'check 15', 'Threshold', 'Verdict']);
    expect(table.rows).toEqual([
      ['latency_p95', '0.2', '-', '0.21', '0.22', '0.61 ✖', 'no data ✖', 'pass <= 0.24 (baseline * 1.2)', 'FAILED'],
      ['errors', '-', '3', 'error', '25 ✖', '-', '-', 'fail > 20', 'FAILED (dry run)'],
    ]);
    expect(table.failed).toEqual([true, true]);
  });

  it('keeps the first and last checkpoints of a long bake around …', () => {
    const long = metricRecordOf('cpu', [1, 2, 3, 4, 5, 6, 7, 8]);
    const table = verdictTable([metricVerdict(long)], { maxCheckpoints: 5 });
    expect(table.headers).toEqual(['Metric', 'Baseline', 'check 1', 'check 2', '…', 'check 7', 'check 8', 'Threshold', 'Verdict']);
    expect(table.rows[0]).toEqual(['cpu', '0.2', '1', '2', '…', '7', '8', 'pass <= 0.24 (baseline * 1.2)', 'passing']);
  });

  it('renders GitHub Markdown with names and thresholds as inline code and a failed verdict in bold', () => {
    const hostile = metricRecordOf('a|b`<img src=x>\u001b[31m', [1], { condition: 'pass: result <= 2' });
    const lines = markdownVerdictTable([latency, hostile].map(metricVerdict));
    expect(lines[0]).toBe('| Metric | Baseline | check 1 | check 2 | check 5 | check 10 | check 15 | Threshold | Verdict |');
    expect(lines[1]).toBe('|---|---:|---:|---:|---:|---:|---:|---|---|');
    expect(lines[2]).toBe('| `latency_p95` | 0.2 | - | 0.21 | 0.22 | 0.61 ✖ | no data ✖ | `pass <= 0.24 (baseline * 1.2)` | **FAILED** |');
    // One cell per column: the | is escaped, the backtick cannot close the span, ESC is shown, never sent.
    expect(lines[3]).toContain("| `a\\|b'<img src=x>\\x1b[31m` |");
    expect(lines[3].split(/(?<!\\)\|/).length).toBe(lines[0].split('|').length);
  });
});
