import { beforeEach, describe, expect, it } from 'vitest';
import type { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import type { Outcome, RestoreState } from '../../../../core/model';
import type { DataCheckReport } from '../../../../core/tasks/data-checks/data-checks';
import { LedgerEvent, runLedger } from '../../../../core/tasks/ledger/ledger';
import { readLedger } from '../../../../core/tasks/ledger/release-ledger';
import { deployment, deploymentFor, executionNamed, fixedClock, RecordingMetrics, releasedSlots, smokeReport, snapshot, tempFileStore } from './fixtures';

const AT = '2025-03-04T10:08:00.000Z';
const SCRATCH = 'shop_drill_20250304100700';

const discarded: RestoreState = {
  restored: true,
  decision: 'restored',
  phase: 'discarded',
  failedCopy: null,
  scratch: SCRATCH,
  snapshotId: snapshot.id,
  steps: [
    { phase: 'create-scratch', at: '2025-03-04T10:07:00.000Z', detail: `created scratch database ${SCRATCH}` },
    { phase: 'restore', at: '2025-03-04T10:07:30.000Z', detail: `restored into ${SCRATCH} (3 tables)` },
    { phase: 'discard', at: AT, detail: `dropped the drill copy ${SCRATCH}; shop was not touched` },
  ],
  startedAt: '2025-03-04T10:07:00.000Z',
  finishedAt: AT,
};

function check(passed: boolean, summary: string): DataCheckReport {
  return { phase: 'after-restore', passed, summary, results: [], comparison: { identical: passed, differences: passed ? [] : ['orders: 8000 → 7990 rows'], tables: 3 }, startedAt: AT, durationMs: 40 };
}

const PASSED = check(true, 'the restored data matches the fingerprint recorded before the backup (3 tables)');
const FAILED = check(false, 'the restored data differs from the fingerprint recorded before the backup: orders: 8000 → 7990 rows');

function eventOf(operation: LedgerEvent['operation'], slots: object): LedgerEvent {
  return LedgerEvent.parse(JSON.parse(JSON.stringify({ operation, ...slots })));
}

describe('record-drill and the evidence of restorability', () => {
  let store: FileArtifactStore;
  const clock = fixedClock(AT);
  const deps = () => ({ store, clock, metrics: new RecordingMetrics() });

  beforeEach(async () => {
    const temp = await tempFileStore('drill-');
    store = temp.store;
    clock.set(AT);
    return temp.remove;
  });

  it('keeps a passed drill before a deploy in the ledger, newest first, without a report of its own', async () => {
    const outcome = (await runLedger(eventOf('record-drill', { ...releasedSlots(), drill: discarded, drillCheck: PASSED }), deps())) as Outcome;

    expect(outcome).toEqual({
      result: 'succeeded',
      cause: `Restore drill of shop-api passed: backup ${snapshot.id} was restored into ${SCRATCH}, the restored data matches the fingerprint recorded before the backup (3 tables). The scratch copy was dropped.`,
      reportKey: null,
      ledgerKey: 'ledger/shop-api.json',
    });
    const { document } = await readLedger(store, 'shop-api');
    expect(document.drills).toEqual([
      { deploymentId: deployment.id, executionId: deployment.executionId, action: 'deploy', snapshotId: snapshot.id, backupAt: snapshot.completedAt, at: AT, passed: true, summary: PASSED.summary, scratch: SCRATCH, discarded: true },
    ]);
    expect(document.events.at(-1)).toMatchObject({ kind: 'drill-passed' });
  });

  it('records a failed drill with the table that differs, and a retried Task once', async () => {
    const event = eventOf('record-drill', { ...releasedSlots(), drill: discarded, drillCheck: FAILED });
    const outcome = (await runLedger(event, deps())) as Outcome;
    await runLedger(event, deps());

    expect(outcome.result).toBe('aborted');
    expect(outcome.cause).toContain('Restore drill of shop-api FAILED for backup');
    expect(outcome.cause).toContain('orders: 8000 → 7990 rows');
    expect((await readLedger(store, 'shop-api')).document.drills).toHaveLength(1);
  });

  it('says why a drill failed before its checks, and that its copy was not dropped', async () => {
    const error = { Error: 'RestoreFailedError', Cause: JSON.stringify({ errorType: 'RestoreFailedError', errorMessage: 'pg_restore exited with 1' }) };
    const outcome = (await runLedger(eventOf('record-drill', { ...releasedSlots(), drill: { ...discarded, phase: 'restore' }, drillCheck: null, error }), deps())) as Outcome;

    expect(outcome.cause).toMatch(/FAILED for backup .*: the restore did not get as far as the checks: RestoreFailedError: pg_restore exited with 1\. The scratch copy shop_drill_20250304100700 was NOT dropped\./);
  });

  it('writes the report of a passed drill execution, saying the backup is proven restorable', async () => {
    const drillDeployment = { ...deploymentFor(executionNamed('drill-weekly')), action: 'drill', version: null, image: null };
    const outcome = (await runLedger(eventOf('record-drill', { ...releasedSlots(), release: null, smoke: null, bake: null, deployment: drillDeployment, drill: discarded, drillCheck: PASSED }), deps())) as Outcome;

    expect(outcome.reportKey).toBe(`reports/shop-api/${drillDeployment.id}.json`);
    const markdown = (await store.get(`reports/shop-api/${drillDeployment.id}.md`))?.body.toString('utf8') ?? '';
    expect(markdown).toContain('## Restore drill');
    expect(markdown).toContain(`- This execution's drill passed: ${PASSED.summary}`);
    expect(markdown).toContain(`- Scratch copy ${SCRATCH}: dropped`);
    expect(markdown).toContain(`- Backup last proven restorable: ${AT} (backup ${snapshot.id} taken ${snapshot.completedAt}, drill ${drillDeployment.id})`);
  });

  it('says on a later deployment without a drill when the backup was last proven restorable', async () => {
    await runLedger(eventOf('record-drill', { ...releasedSlots(), drill: discarded, drillCheck: PASSED }), deps());
    await runLedger(eventOf('record-drill', { ...releasedSlots(), execution: executionNamed('later'), drill: discarded, drillCheck: FAILED }), deps());
    clock.set('2025-03-05T09:00:00.000Z');
    const later = { ...releasedSlots(), deployment: deploymentFor(executionNamed('deploy-v1-4-3')), execution: executionNamed('deploy-v1-4-3'), smoke: smokeReport('deploy') };

    const outcome = (await runLedger(eventOf('record-release', later), deps())) as Outcome;

    const report = JSON.parse((await store.get(outcome.reportKey ?? ''))?.body.toString('utf8') ?? '{}');
    expect(report.restoreDrill).toBeNull();
    expect(report.lastProvenRestorable).toEqual({ at: AT, snapshotId: snapshot.id, backupAt: snapshot.completedAt, deploymentId: deployment.id, action: 'deploy' });
  });

  it('says never when no drill has passed', async () => {
    const outcome = (await runLedger(eventOf('record-release', releasedSlots()), deps())) as Outcome;
    const markdown = (await store.get((outcome.reportKey ?? '').replace(/\.json$/, '.md')))?.body.toString('utf8') ?? '';
    expect(markdown).toContain('- Backup last proven restorable: never (no restore drill has passed: backup.testRestore, deploy-runbook drill)');
  });
});
