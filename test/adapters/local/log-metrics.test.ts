import { describe, expect, it } from 'vitest';
import { LogMetrics } from '../../../adapters/local/log-metrics';

describe('LogMetrics', () => {
  it('logs one line per point, with the target and the point’s dimensions', () => {
    const lines: string[] = [];
    new LogMetrics('demo-app', (line) => lines.push(line)).record([
      { name: 'Deployments', unit: 'Count', value: 1, dimensions: { Outcome: 'succeeded' } },
      { name: 'PhaseDuration', unit: 'Milliseconds', value: 1830, dimensions: { Phase: 'SmokeTests' } },
    ]);
    expect(lines).toEqual(['metric Deployments=1 Count Target=demo-app Outcome=succeeded', 'metric PhaseDuration=1830 Milliseconds Target=demo-app Phase=SmokeTests']);
  });
});
