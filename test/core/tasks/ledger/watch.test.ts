import { beforeEach, describe, expect, it } from 'vitest';
import exampleConfig from '../../../../config/example.json';
import { parseConfig } from '../../../../config/load';
import type { RunbookConfig } from '../../../../config/schema';
import type { Deployment, Execution, MetricRecord, WatchResult, WatchStatus, WindowDecision } from '../../../../core/model';
import { acquireLock, lockKey } from '../../../../core/tasks/deployment-lock/deployment-lock';
import { LedgerEvent, runLedger } from '../../../../core/tasks/ledger/ledger';
import { MAX_CHECKPOINTS, readLedger, updateLedger } from '../../../../core/tasks/ledger/release-ledger';
import type { CheckpointRecorded } from '../../../../core/tasks/ledger/watch';
import type { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import { deployment, deploymentFor, executionNamed, fixedClock, preflight, RecordingMetrics, releasedSlots, tempFileStore } from './fixtures';

const RELEASED_AT = '2025-03-04T10:45:00.000Z';
const HOUR = 3_600_000;
const BASELINES = [{ name: 'p95', value: 0.2, at: '2025-03-04T10:00:05.000Z' }];

/** The example target with a p95 metric judged against its baseline, watched hourly. */
function watchedConfig(watch: Record<string, unknown> = { everyMinutes: 60 }, changes: Record<string, unknown> = {}): RunbookConfig {
  return parseConfig({
    ...structuredClone(exampleConfig),
    analysis: {
      metrics: [{ name: 'p95', provider: { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'p95' }, successCondition: 'result <= baseline * 1.5' }],
      watch,
    },
    ...changes,
  });
}

function eventOf(operation: LedgerEvent['operation'], slots: object): LedgerEvent {
  return LedgerEvent.parse(JSON.parse(JSON.stringify({ operation, ...slots })));
}

const watchExecution = executionNamed('watch-0b3c', '2025-03-04T12:00:00.000Z');
const watchDeployment = (): Deployment => deploymentFor(watchExecution, { action: 'watch', version: null, image: null, requestedBy: 'post-release watch schedule' });

function metricRecord(changes: Partial<MetricRecord> = {}): MetricRecord {
  return { name: 'p95', condition: 'pass: result <= baseline * 1.5', baseline: 0.2, dryRun: false, measurements: [], failures: 0, consecutiveErrors: 0, verdict: 'passing', ...changes };
}

describe('the post-release watch in the ledger', () => {
  let store: FileArtifactStore;
  const clock = fixedClock(RELEASED_AT);
  const deps = () => ({ store, clock, metrics: new RecordingMetrics() });

  beforeEach(async () => {
    const temp = await tempFileStore('watch-');
    store = temp.store;
    clock.set(RELEASED_AT);
    return temp.remove;
  });

  /** Records the example's release of v1.4.2 at RELEASED_AT, with the baselines Preflight measured. */
  async function release(): Promise<void> {
    clock.set(RELEASED_AT);
    const slots = releasedSlots();
    await runLedger(eventOf('record-release', { ...slots, preflight: { ...preflight, baseline: { ...preflight.baseline, metrics: BASELINES } } }), deps());
  }

  async function checkWatch(config = watchedConfig(), hoursAfter = 2): Promise<WatchStatus> {
    clock.set(new Date(Date.parse(RELEASED_AT) + hoursAfter * HOUR).toISOString());
    return (await runLedger(eventOf('check-watch', { config, deployment: watchDeployment(), execution: watchExecution }), deps())) as WatchStatus;
  }

  function checkpointOf(status: WatchStatus, decision: 'passed' | 'failed', metrics: MetricRecord[] = [metricRecord()]): WatchResult {
    return {
      releaseId: status.release!.deploymentId,
      version: status.release!.version,
      checkpoint: status.checkpoint,
      at: clock.now().toISOString(),
      execution: watchExecution.name,
      decision,
      metrics,
      reason: decision === 'failed' ? 'Metric p95: 1 failed measurement(s), the last at check 1: 0.9 does not meet "result <= baseline * 1.5"' : null,
      patch: null,
    };
  }

  async function record(status: WatchStatus, checkpoint: WatchResult): Promise<CheckpointRecorded> {
    return (await runLedger(eventOf('record-checkpoint', { config: watchedConfig(), deployment: watchDeployment(), execution: watchExecution, watch: status, checkpoint }), deps())) as CheckpointRecorded;
  }

  it('keeps the baselines Preflight measured with the release', async () => {
    await release();
    expect((await readLedger(store, 'shop-api')).document.current?.baselines).toEqual(BASELINES);
  });

  it('measures the current release inside its watch: checkpoint 1, with the release and its baselines, until the rollback window closes', async () => {
    await release();
    const status = await checkWatch();
    expect(status).toMatchObject({
      decision: 'measure',
      message: `Checkpoint 1 of release v1.4.2 of shop-api, watched until 2025-03-04T18:45:00.000Z.`,
      checkpoint: 1,
      records: [],
      until: '2025-03-04T18:45:00.000Z',
      release: { deploymentId: deployment.id, version: 'v1.4.2', baselines: BASELINES },
    });
  });

  it('ends when no release is recorded', async () => {
    expect(await checkWatch()).toEqual({
      decision: 'no-release',
      message: 'No release of shop-api is recorded in ledger/shop-api.json: nothing to watch.',
      release: null,
      checkpoint: 1,
      records: [],
      until: null,
    });
  });

  it('ends when the watch window closed: untilHours after the release, or rollbackWindowHours without it', async () => {
    await release();
    expect(await checkWatch(watchedConfig({ everyMinutes: 60, untilHours: 2 }), 2.5)).toMatchObject({
      decision: 'window-closed',
      message: 'The watch of release v1.4.2 of shop-api ended at 2025-03-04T12:45:00.000Z, 2 h after the release.',
      until: '2025-03-04T12:45:00.000Z',
    });
    expect(await checkWatch(watchedConfig({ everyMinutes: 60 }), 8.1)).toMatchObject({ decision: 'window-closed' });
    expect(await checkWatch(watchedConfig({ everyMinutes: 60 }), 7.9)).toMatchObject({ decision: 'measure' });
  });

  it('ends when a deployment holds the lock, without touching it; a released lock or an expired lease does not stop it', async () => {
    await release();
    const next = executionNamed('deploy-v1-5-0', '2025-03-04T12:30:00.000Z');
    clock.set('2025-03-04T12:30:00.000Z');
    const lease = await acquireLock({ operation: 'acquire', config: watchedConfig(), deployment: deploymentFor(next, { version: 'v1.5.0' }), execution: next }, { store, clock });
    const lockBefore = (await store.get(lockKey('shop-api')))!;

    expect(await checkWatch()).toMatchObject({
      decision: 'deployment-running',
      message: 'Execution deploy-v1-5-0 holds the lock on shop-api (deploying v1.5.0): the watch of v1.4.2 ends, the next deployment decides.',
    });
    expect((await store.get(lockKey('shop-api')))!.etag).toBe(lockBefore.etag);

    // Past the lease (executionTimeoutMinutes + 5 = 365 min) the holder is dead: the watch goes on.
    expect(await checkWatch(watchedConfig(), 1.75 + 365 / 60 + 0.01)).toMatchObject({ decision: 'measure' });
    expect(lease.key).toBe('locks/shop-api.json');
  });

  it('ends when a person owns the target (a stuck lock)', async () => {
    await release();
    await store.put(
      lockKey('shop-api'),
      JSON.stringify({ owner: 'rollback-1', executionId: 'x', deploymentId: 'rollback-1', version: null, action: 'rollback', state: 'stuck', acquiredAt: RELEASED_AT, expiresAt: RELEASED_AT, note: 'failed', previousOwner: null }),
    );
    expect(await checkWatch()).toMatchObject({ decision: 'deployment-running', message: expect.stringContaining('shop-api is locked for a person since a rollback by rollback-1 failed') });
  });

  it('ends when a later deployment was recorded, even one rolled back, and when the release itself was rolled back', async () => {
    await release();
    const current = (await readLedger(store, 'shop-api')).document.current!;
    const later = { ...current, deploymentId: 'deploy-v1-5-0-1a2b', version: 'v1.5.0', rolledBack: { at: '2025-03-04T12:10:00.000Z', executionId: 'x', reason: 'SmokeTestFailed' } };
    await updateLedger(store, 'shop-api', (doc) => ({ ...doc, releases: [later, ...doc.releases] }));
    expect(await checkWatch()).toMatchObject({
      decision: 'superseded',
      message: 'A later deployment of shop-api (v1.5.0) was rolled back at 2025-03-04T12:10:00.000Z: v1.4.2 is not watched any more.',
    });

    await updateLedger(store, 'shop-api', (doc) => ({ ...doc, releases: doc.releases.slice(1), current: { ...current, rolledBack: { at: '2025-03-04T11:30:00.000Z', executionId: 'y', reason: 'AlarmFired' } } }));
    expect(await checkWatch()).toMatchObject({ decision: 'rolled-back', message: 'Release v1.4.2 of shop-api was rolled back at 2025-03-04T11:30:00.000Z: the watch is over.' });
  });

  it('records each checkpoint; the next one is numbered after it and starts from its counts', async () => {
    await release();
    const first = await checkWatch(watchedConfig(), 1);
    const counted = metricRecord({ failures: 1, measurements: [{ check: 1, at: '2025-03-04T11:45:00.000Z', value: 0.9, outcome: 'failure', detail: 'too slow' }] });
    expect(await record(first, checkpointOf(first, 'passed', [counted]))).toEqual({ ledgerKey: 'ledger/shop-api.json', checkpoint: 1, decision: 'passed' });

    const second = await checkWatch(watchedConfig(), 2);
    expect(second).toMatchObject({ decision: 'measure', checkpoint: 2, records: [counted] });
    const { document } = await readLedger(store, 'shop-api');
    expect(document.checkpoints).toEqual([{ ...checkpointOf(first, 'passed', [counted]), at: '2025-03-04T11:45:00.000Z', patch: undefined }].map(({ patch: _, ...rest }) => rest));
    expect(document.events.map((event) => event.kind)).toEqual(['released']);
  });

  it('records a failed checkpoint as a history entry too, once when the Task is retried', async () => {
    await release();
    const status = await checkWatch();
    const failed = checkpointOf(status, 'failed');
    await record(status, failed);
    await record(status, failed);
    const { document } = await readLedger(store, 'shop-api');
    expect(document.checkpoints).toHaveLength(1);
    expect(document.events.at(-1)).toEqual({
      at: '2025-03-04T12:45:00.000Z',
      kind: 'watch-failed',
      detail: 'watch-0b3c: watch checkpoint 1 of v1.4.2 failed: Metric p95: 1 failed measurement(s), the last at check 1: 0.9 does not meet "result <= baseline * 1.5"',
    });
  });

  it(`keeps the last ${MAX_CHECKPOINTS} checkpoints`, async () => {
    await release();
    const status = await checkWatch();
    const old = Array.from({ length: MAX_CHECKPOINTS }, (_, index) => ({ ...checkpointOf(status, 'passed'), checkpoint: index + 1, patch: undefined }));
    await updateLedger(store, 'shop-api', (doc) => ({ ...doc, checkpoints: old.map(({ patch: _, ...rest }) => rest) }));
    const next = await checkWatch();
    expect(next.checkpoint).toBe(MAX_CHECKPOINTS + 1);
    await record(next, checkpointOf(next, 'passed'));
    const { document } = await readLedger(store, 'shop-api');
    expect(document.checkpoints).toHaveLength(MAX_CHECKPOINTS);
    expect(document.checkpoints!.map((c) => c.checkpoint).slice(0, 2)).toEqual([2, 3]);
    expect(document.checkpoints!.at(-1)!.checkpoint).toBe(MAX_CHECKPOINTS + 1);
  });

  it('refuses a check-watch for a configuration without analysis.watch', async () => {
    await expect(runLedger(eventOf('check-watch', { config: parseConfig(exampleConfig), deployment: watchDeployment(), execution: watchExecution }), deps())).rejects.toThrow(
      'check-watch needs config.analysis.watch, but shop-api has no post-release watch configured',
    );
  });

  describe('the rollback a failed checkpoint asks for (check-window)', () => {
    const rollbackExecution = watchExecution;
    function watchRollback(execution: Execution, releaseId = deployment.id): Deployment {
      return {
        ...watchDeployment(),
        action: 'rollback',
        executionId: execution.id,
        watch: { releaseId, checkpoint: 3, at: '2025-03-04T13:45:00.000Z', metrics: ['p95'], reason: 'Metric p95: 1 failed measurement(s), the last at check 3: 0.9 does not meet "result <= baseline * 1.5"' },
      };
    }
    async function checkWindow(dep: Deployment): Promise<WindowDecision> {
      clock.set('2025-03-04T13:46:00.000Z');
      return (await runLedger(eventOf('check-window', { config: watchedConfig(), deployment: dep, execution: rollbackExecution }), deps())) as WindowDecision;
    }

    it('rolls back the release the checkpoint measured, by the single-rollback rule, with the checkpoint as the error', async () => {
      await release();
      const window = await checkWindow(watchRollback(rollbackExecution));
      expect(window.decision).toBe('rollback');
      expect(window.message).toBe('Rolling back release v1.4.2 of shop-api to v1.4.1 for the failed watch checkpoint 3 (p95).');
      expect(window.patch?.error).toEqual({
        Error: 'WatchCheckpointFailed',
        Cause: 'Watch checkpoint 3 of release v1.4.2, 180 min after it: Metric p95: 1 failed measurement(s), the last at check 3: 0.9 does not meet "result <= baseline * 1.5"',
      });
    });

    it('does nothing when another release is current now (superseded), or the measured one was rolled back already', async () => {
      await release();
      expect(await checkWindow(watchRollback(rollbackExecution, 'deploy-v1-3-0-aaaa'))).toMatchObject({
        decision: 'superseded',
        message: 'v1.4.2 runs on shop-api now, not the release deploy-v1-3-0-aaaa that the failed watch checkpoint 3 (p95) measured: nothing to do.',
        patch: null,
      });
      await updateLedger(store, 'shop-api', (doc) => ({ ...doc, releases: doc.releases.map((r) => ({ ...r, rolledBack: { at: '2025-03-04T13:00:00.000Z', executionId: 'z', reason: 'AlarmFired' } })) }));
      expect(await checkWindow(watchRollback(rollbackExecution))).toMatchObject({ decision: 'already-rolled-back', patch: null });
    });
  });
});

describe("a release plan's analysis gate in the ledger (check-analysis)", () => {
  let store: FileArtifactStore;
  const clock = fixedClock(RELEASED_AT);
  const deps = () => ({ store, clock, metrics: new RecordingMetrics() });
  const gateExecution = executionNamed('plan-1-c2g1-production', '2025-03-04T12:00:00.000Z');
  const plan = { name: 'shop', execution: 'arn:aws:states:eu-west-1:123456789012:execution:ReleasePlan:plan-1', stage: 'production', version: 'v1.4.2' };
  const gateDeployment = (version = 'v1.4.2'): Deployment =>
    ({ ...deploymentFor(gateExecution, { action: 'analyze', version: null, image: null, requestedBy: 'release-plan shop' }), plan: { ...plan, version } }) as Deployment;

  beforeEach(async () => {
    const temp = await tempFileStore('analysis-gate-');
    store = temp.store;
    clock.set(RELEASED_AT);
    return temp.remove;
  });

  async function release(): Promise<void> {
    await runLedger(eventOf('record-release', { ...releasedSlots(), preflight: { ...preflight, baseline: { ...preflight.baseline, metrics: BASELINES } } }), deps());
  }

  /** A runbook without analysis.watch: the gate does not need one. */
  async function checkAnalysis(deployment = gateDeployment(), hoursAfter = 30): Promise<WatchStatus> {
    clock.set(new Date(Date.parse(RELEASED_AT) + hoursAfter * HOUR).toISOString());
    const config = parseConfig({ ...structuredClone(exampleConfig) });
    return (await runLedger(eventOf('check-analysis', { config, deployment, execution: gateExecution }), deps())) as WatchStatus;
  }

  it("measures the current release of the plan stage's version afresh, with its baselines, whatever the watch window", async () => {
    await release();
    const ledgerBefore = (await store.get('ledger/shop-api.json'))!.etag;
    expect(await checkAnalysis()).toEqual({
      decision: 'measure',
      message: 'Analysis of release v1.4.2 of shop-api against the baselines it kept.',
      release: expect.objectContaining({ version: 'v1.4.2', baselines: BASELINES }),
      checkpoint: 1,
      records: [],
      until: null,
    });
    expect((await store.get('ledger/shop-api.json'))!.etag).toBe(ledgerBefore);
    expect(await store.get(lockKey('shop-api'))).toBeUndefined();
  });

  it("refuses to measure a release of another version than the plan stage's", async () => {
    await release();
    expect(await checkAnalysis(gateDeployment('v1.5.0'))).toMatchObject({
      decision: 'superseded',
      message: 'The current release of shop-api is v1.4.2, not v1.5.0 that stage production of plan shop deployed: nothing measured.',
    });
  });

  it('refuses without a release, with a rolled-back one, or while a deployment holds the target', async () => {
    expect(await checkAnalysis()).toMatchObject({ decision: 'no-release' });
    await release();
    const next = executionNamed('deploy-v1-5-0', '2025-03-04T12:30:00.000Z');
    clock.set('2025-03-04T12:30:00.000Z');
    await acquireLock({ operation: 'acquire', config: watchedConfig(), deployment: deploymentFor(next, { version: 'v1.5.0' }), execution: next }, { store, clock });
    expect(await checkAnalysis(gateDeployment(), 2)).toMatchObject({ decision: 'deployment-running', message: expect.stringContaining('holds the lock on shop-api') });
    const current = (await readLedger(store, 'shop-api')).document.current!;
    await updateLedger(store, 'shop-api', (doc) => ({ ...doc, current: { ...current, rolledBack: { at: '2025-03-04T11:30:00.000Z', executionId: 'y', reason: 'AlarmFired' } } }));
    expect(await checkAnalysis()).toMatchObject({ decision: 'rolled-back' });
  });
});
