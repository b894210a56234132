import { describe, expect, it } from 'vitest';
import { verdictTableLines } from '../../cli/verdict-table';
import { metricRecordOf } from '../support/metric-records';

describe('verdictTableLines', () => {
  it('prints nothing without analysis metrics', () => {
    expect(verdictTableLines([])).toEqual([]);
  });

  it('lines up the columns: metric, baseline, each checkpoint, threshold, verdict', () => {
    const lines = verdictTableLines([
      metricRecordOf('cpu', [41.5, 52], { condition: 'fail: result > 70', baseline: 40 }),
      metricRecordOf('error_rate', [0.001, null], { condition: 'pass: result <= 0.01', dryRun: true, outcomes: ['success', 'inconclusive'] }),
    ]);
    expect(lines).toEqual([
      'analysis: all 2 metric(s) passing',
      '  Metric      Baseline  check 1  check 2    Threshold     Verdict',
      '  cpu         40        41.5     52         fail > 70     passing',
      '  error_rate  0.2       0.001    no data ?  pass <= 0.01  passing (dry run)',
    ]);
    const header = lines[1];
    for (const row of lines.slice(2)) expect(row.indexOf('passing')).toBe(header.indexOf('Verdict'));
  });

  it('counts the FAILED metrics, dry runs included, in the heading', () => {
    const lines = verdictTableLines([metricRecordOf('p95', [0.9], { outcomes: ['failure'], dryRun: true }), metricRecordOf('cpu', [1])]);
    expect(lines[0]).toBe('analysis: 1 of 2 metric(s) FAILED');
    expect(lines[2]).toMatch(/ FAILED \(dry run\)$/);
  });

  it('shows the first and last checkpoints of a long bake around …', () => {
    const lines = verdictTableLines([metricRecordOf('cpu', Array.from({ length: 30 }, (_, index) => index))]);
    expect(lines[1].split(/\s{2,}/).filter(Boolean)).toEqual(['Metric', 'Baseline', 'check 1', 'check 2', 'check 3', '…', 'check 29', 'check 30', 'Threshold', 'Verdict']);
  });
});
