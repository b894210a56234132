import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load';
import { readLedger } from '../../../core/tasks/ledger/release-ledger';
import { lockKey } from '../../../core/tasks/deployment-lock/deployment-lock';
import { runRunbook } from '../../../local/engine/engine';
import { createDispatcher } from '../../../local/rehearsal/dispatch';
import type { Json } from '../../../statemachines/definition';
import type { LocalPorts } from '../../../local/rehearsal/local-ports';
import { scriptedMetrics } from '../../support/metric-queries';
import { fakeConfig, fakePorts, useHealthyServer, useTempDirs } from './fake-ports';

const baseUrl = useHealthyServer();
const tempDir = useTempDirs();
const plan = (version: string) => ({ name: 'shop', execution: 'arn:aws:states:eu-west-1:123456789012:execution:ReleasePlan:plan-1', stage: 'staging', version });

// A release plan's analysis gate through the real definition and the real task functions over local ports: the ledger
// and the lock in a FileArtifactStore, p95 answered by a script (baseline, two bake checks, then the gates' measurements).
describe("a release plan's analysis gate, rehearsed in-process", () => {
  it('measures v2 against the baseline it kept: passes, then fails without rolling back, and refuses another version', async () => {
    const config = parseConfig({
      ...fakeConfig(baseUrl()),
      analysis: { metrics: [{ name: 'p95', provider: { kind: 'prometheus', url: 'http://127.0.0.1:9090', query: 'p95' }, successCondition: 'result <= baseline * 2' }] },
    });
    const { ports, target } = fakePorts(await tempDir());
    const withMetrics: LocalPorts = { ...ports, metricQuery: scriptedMetrics({ p95: [0.1, 0.1, 0.1, 0.12, 0.5] }) };
    const { handle } = createDispatcher(withMetrics);
    const run = (input: Json, name: string) => runRunbook({ config, input, executionName: name, handler: handle, waitMs: 0, retryMs: 0 });
    const entered = (result: Awaited<ReturnType<typeof run>>) => result.events.filter((e) => e.type === 'entered').map((e) => e.state);

    const released = await run({ version: 'v2' }, 'deploy-v2');
    expect(released.status, released.cause ?? '').toBe('SUCCEEDED');
    target.running = { version: 'v2', image: null, ref: 'v2' };
    const lockBefore = (await withMetrics.store.get(lockKey('demo-app')))?.etag;

    const passed = await run({ action: 'analyze', plan: plan('v2') }, 'plan-1-a1g1-staging');
    expect([passed.status, entered(passed).at(-1)], passed.cause ?? '').toEqual(['SUCCEEDED', 'AnalysisPassed']);

    const failed = await run({ action: 'analyze', metrics: ['p95'], plan: plan('v2') }, 'plan-1-a1g2-staging');
    expect([failed.status, failed.error]).toEqual(['FAILED', 'AnalysisFailed']);
    expect(failed.cause).toBe('Metric p95: 1 failed measurement(s), the last at check 1: 0.5 does not meet "result <= baseline * 2" (baseline 0.1, so <= 0.2)');
    expect(entered(failed)).toEqual(['LoadConfig', 'ValidateInput', 'RouteRequest', 'CheckAnalysis', 'AnalysisDue', 'MeasureAnalysis', 'AnalysisVerdict', 'AnalysisFailed']);

    const other = await run({ action: 'analyze', plan: plan('v3') }, 'plan-2-a1g1-staging');
    expect([other.status, other.error]).toEqual(['FAILED', 'AnalysisUnavailable']);
    expect(other.cause).toBe('The current release of demo-app is v2, not v3 that stage staging of plan shop deployed: nothing measured.');

    // Nothing was rolled back, recorded or locked: the plan decides.
    expect(target.calls.filter((call) => call.startsWith('rollback'))).toEqual([]);
    const { document } = await readLedger(withMetrics.store, 'demo-app');
    expect(document.current).toMatchObject({ version: 'v2', rolledBack: null, baselines: [{ name: 'p95', value: 0.1 }] });
    expect(document.checkpoints ?? []).toEqual([]);
    expect((await withMetrics.store.get(lockKey('demo-app')))?.etag).toBe(lockBefore);
  });
});
