import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EmfMetrics } from '../../../adapters/aws/emf-metrics';
import { METRICS_NAMESPACE } from '../../../core/tasks/ledger/deployment-metrics';

describe('EmfMetrics', () => {
  afterEach(() => vi.restoreAllMocks());

  it('writes each point at once as an EMF document with the target and the point’s own dimensions', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (lines.push(String(chunk)), true));
    const sink = new EmfMetrics(new Metrics({ namespace: METRICS_NAMESPACE, serviceName: 'deploy-runbook' }), 'shop-api');

    sink.record([
      { name: 'Deployments', unit: 'Count', value: 1, dimensions: { Outcome: 'rolled-back' } },
      { name: 'PhaseDuration', unit: 'Milliseconds', value: 90_000, dimensions: { Phase: 'Migrations' } },
    ]);

    const documents = lines.join('').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } });
    expect(documents).toHaveLength(2);
    expect(documents[0]._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'DeployRunbook', Metrics: [{ Name: 'Deployments', Unit: 'Count' }] });
    expect(documents[0]._aws.CloudWatchMetrics[0].Dimensions[0].sort()).toEqual(['Outcome', 'Target', 'service']);
    expect(documents[0]).toMatchObject({ Deployments: 1, Target: 'shop-api', Outcome: 'rolled-back', service: 'deploy-runbook' });
    expect(documents[1]).toMatchObject({ PhaseDuration: 90_000, Target: 'shop-api', Phase: 'Migrations' });
    expect(documents[1]).not.toHaveProperty('Outcome');
  });
});
