import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../config/load';
import { readLedger } from '../../../core/tasks/ledger/release-ledger';
import { runRunbook } from '../../../local/engine/engine';
import { createDispatcher } from '../../../local/rehearsal/dispatch';
import type { Json } from '../../../statemachines/definition';
import type { LocalPorts } from '../../../local/rehearsal/local-ports';
import { scriptedMetrics } from '../../support/metric-queries';
import { fakeConfig, fakePorts, useHealthyServer, useTempDirs } from './fake-ports';

const baseUrl = useHealthyServer();
const tempDir = useTempDirs();

// The post-release watch through the real definition and the real task functions over local ports: the ledger and
// the lock in a FileArtifactStore, p95 answered by a script (baseline, two bake checks, then the watch's checkpoints).
describe('the post-release watch, rehearsed in-process', () => {
  it('releases v2, passes a checkpoint without the lock, rolls v2 back at a regressed one, then has nothing to watch', async () => {
    const config = parseConfig({
      ...fakeConfig(baseUrl()),
      analysis: {
        metrics: [{ name: 'p95', provider: { kind: 'prometheus', url: 'http://127.0.0.1:9090', query: 'p95' }, successCondition: 'result <= baseline * 2' }],
        watch: { everyMinutes: 60 },
      },
    });
    const { ports, target } = fakePorts(await tempDir());
    const withMetrics: LocalPorts = { ...ports, metricQuery: scriptedMetrics({ p95: [0.1, 0.1, 0.1, 0.12, 0.5] }) };
    const { handle } = createDispatcher(withMetrics);
    const run = (input: Json, name: string) => runRunbook({ config, input, executionName: name, handler: handle, waitMs: 0, retryMs: 0 });
    const end = (result: Awaited<ReturnType<typeof run>>) => result.events.filter((e) => e.type === 'entered').at(-1)?.state;

    const released = await run({ version: 'v2' }, 'deploy-v2');
    expect([released.status, end(released)], released.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    target.running = { version: 'v2', image: null, ref: 'v2' };

    const passed = await run({ action: 'watch' }, 'watch-1');
    expect([passed.status, end(passed)], passed.cause ?? '').toEqual(['SUCCEEDED', 'WatchPassed']);
    expect(passed.events.some((e) => e.state === 'AcquireLock')).toBe(false);

    const failed = await run({ action: 'watch' }, 'watch-2');
    expect([failed.status, failed.error]).toEqual(['FAILED', 'RolledBack']);
    expect(failed.cause).toContain('after WatchCheckpointFailed: Watch checkpoint 2 of release v2, 0 min after it: Metric p95: 1 failed measurement(s), the last at check 2: 0.5 does not meet');
    expect(target.calls).toContain('rollback v1');

    const { document } = await readLedger(withMetrics.store, 'demo-app');
    expect(document.checkpoints?.map((c) => [c.execution, c.checkpoint, c.decision])).toEqual([
      ['watch-1', 1, 'passed'],
      ['watch-2', 2, 'failed'],
    ]);
    expect(document.current?.version).toBe('v1');
    expect(document.releases[0]).toMatchObject({ version: 'v2', rolledBack: { reason: expect.stringContaining('WatchCheckpointFailed') }, baselines: [{ name: 'p95', value: 0.1 }] });

    const after = await run({ action: 'watch' }, 'watch-3');
    expect([after.status, end(after)]).toEqual(['SUCCEEDED', 'WatchNotNeeded']);
  });
});
