import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ArtifactStore } from '../../../../adapters/aws/s3-artifact-store';
import { LedgerEvent, runLedger } from '../../../../core/tasks/ledger/ledger';
import { type LedgerDocument, readLedger } from '../../../../core/tasks/ledger/release-ledger';
import type { LedgerSlots } from '../../../../core/tasks/ledger/slots';
import type { Outcome, ReleaseRecord, RestoreState } from '../../../../core/model';
import { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import { metricRecordOf } from '../../../support/metric-records';
import { config, deployment, deploymentFor, emptySlots, execution, executionNamed, failedAfterSmoke, fixedClock, preflight, release, releasedSlots, snapshot, tempFileStore, RecordingMetrics } from './fixtures';

const FINISHED = '2025-03-04T10:45:00.000Z';
const REJECTED = { approved: false, by: 'lead@example.com', comment: 'checkout fix needs v1.4.2; fixing forward' };

/** A deploy whose smoke tests failed and whose rollback a person rejected: nothing was rolled back or restored. */
function keptAfterSmoke(overrides: Record<string, unknown> = {}) {
  return failedAfterSmoke({ rollback: null, restore: null, verify: null, rollbackApproval: REJECTED, ...overrides });
}


/** Parses slots as the ledger handler would, so tests send what the ASL sends. */
function eventOf(operation: LedgerEvent['operation'], slots: object): LedgerEvent {
  return LedgerEvent.parse(JSON.parse(JSON.stringify({ operation, ...slots })));
}

describe('ledger outcomes in the file store', () => {
  let store: FileArtifactStore;
  const clock = fixedClock(FINISHED);
  const metrics = new RecordingMetrics();
  const deps = () => ({ store, clock, metrics });
  const ledger = async (): Promise<LedgerDocument> => (await readLedger(store, 'shop-api')).document;

  beforeEach(async () => {
    const temp = await tempFileStore('ledger-');
    store = temp.store;
    clock.set(FINISHED);
    return temp.remove;
  });

  it('records a release as current, with the report written, and says what was released', async () => {
    const outcome = (await runLedger(eventOf('record-release', releasedSlots()), deps())) as Outcome;
    expect(outcome).toEqual({
      result: 'succeeded',
      cause: 'Released v1.4.2 (replacing v1.4.1); 5/5 smoke checks passed; no new alarms in 30 min; already in ALARM before the deploy: shop-api-p95-latency',
      reportKey: `reports/shop-api/${deployment.id}.json`,
      ledgerKey: 'ledger/shop-api.json',
    });
    const expected: ReleaseRecord = {
      deploymentId: deployment.id,
      executionId: execution.id,
      version: 'v1.4.2',
      image: deployment.image,
      ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42',
      previous: preflight.running,
      snapshot,
      migrationsRan: true,
      finishedAt: FINISHED,
      rolledBack: null,
      // What the post-release watch compares with.
      baselines: preflight.baseline.metrics,
      // From the execution's start (10:00) to the record (10:45): what the next start notification expects.
      durationSeconds: 2700,
    };
    const doc = await ledger();
    expect(doc.current).toEqual(expected);
    expect(doc.releases).toEqual([expected]);
    expect(doc.events).toEqual([{ at: FINISHED, kind: 'released', detail: 'deploy-v1-4-2: v1.4.2 released, replacing v1.4.1' }]);
    expect(JSON.parse((await store.get(outcome.reportKey!))!.body.toString())).toMatchObject({ outcome: { result: 'succeeded' }, deploymentId: deployment.id });
    expect((await store.get(`reports/shop-api/${deployment.id}.md`))!.body.toString()).toContain('# shop-api: deploy v1.4.2 — succeeded');
  });

  it('records a retried release once', async () => {
    await runLedger(eventOf('record-release', releasedSlots()), deps());
    clock.advanceMinutes(1);
    await runLedger(eventOf('record-release', releasedSlots()), deps());
    const doc = await ledger();
    expect(doc.releases).toHaveLength(1);
    expect(doc.events).toHaveLength(1);
  });

  it('records a rolled-back deploy in releases and leaves current as it was', async () => {
    const earlier = { ...releasedSlots(), deployment: { ...deployment, id: 'deploy-v1-4-1-0a1b2c3d', version: 'v1.4.1' }, release: { ...releasedSlots().release, ref: preflight.running.ref, version: 'v1.4.1' } };
    await runLedger(eventOf('record-release', earlier), deps());
    const before = (await ledger()).current;

    const outcome = (await runLedger(eventOf('record-rollback', failedAfterSmoke()), deps())) as Outcome;
    expect(outcome.result).toBe('rolled-back');
    expect(outcome.cause).toBe(
      `Rolled back shop-api from v1.4.2 to v1.4.1 after SmokeTestFailed: 1 of 5 checks failed: health. Database restored from snapshot ${snapshot.id}; the failed database is kept as shop-prod-db-failed-20250304101800.`,
    );
    const doc = await ledger();
    expect(doc.current).toEqual(before);
    expect(doc.releases.map((r) => [r.version, r.rolledBack?.reason ?? null])).toEqual([
      ['v1.4.2', 'SmokeTestFailed: 1 of 5 checks failed: health'],
      ['v1.4.1', null],
    ]);
    expect(doc.releases[0]).toMatchObject({ deploymentId: deployment.id, migrationsRan: true, rolledBack: { at: FINISHED, executionId: execution.id } });
    expect(doc.events.at(-1)).toEqual({ at: FINISHED, kind: 'rolled-back', detail: 'deploy-v1-4-2: v1.4.2 rolled back to v1.4.1 after SmokeTestFailed' });
  });

  it('records a rollback of a deploy that failed before it started', async () => {
    const slots = { ...emptySlots(), preflight, rollbackTo: preflight.running, error: { Error: 'DeploymentFailedError', Cause: JSON.stringify({ errorType: 'DeploymentFailedError', errorMessage: 'RegisterTaskDefinition was denied' }) }, restore: { restored: false, decision: 'skipped' } };
    const outcome = (await runLedger(eventOf('record-rollback', slots), deps())) as Outcome;
    expect(outcome.cause).toBe(
      'Rolled back shop-api from v1.4.2 to v1.4.1 after DeploymentFailedError: RegisterTaskDefinition was denied. Database not restored: no snapshot was taken.',
    );
    expect((await ledger()).releases[0]).toMatchObject({ ref: '(deploy did not start)', migrationsRan: false });
  });

  it.each<[string, Partial<Record<keyof LedgerSlots, unknown>>, string]>([
    ['no database configured', { config: { ...config, database: null }, restore: { restored: false, decision: 'skipped' } }, 'No database is configured.'],
    [
      'no migration ran',
      { migrations: { started: false, status: 'not-run' }, restore: { restored: false, decision: 'skipped' } },
      'Database not restored: restorePolicy is when-migrations-ran and no migration ran.',
    ],
    ['restore rejected', { restore: { restored: false, decision: 'not-approved' }, approval: { approved: false, by: 'alice', comment: 'orders written since' } }, 'Database not restored: the restore was not approved (rejected by alice: orders written since).'],
    ['approval timed out', { restore: { restored: false, decision: 'not-approved' }, approval: null }, 'Database not restored: the restore was not approved.'],
    ['restore policy never', { config: { ...config, database: { ...config.database!, restorePolicy: 'never' } }, restore: { restored: false, decision: 'skipped' } }, 'Database not restored: restorePolicy is never.'],
  ])('states the database decision when %s', async (_case, overrides, sentence) => {
    const outcome = (await runLedger(eventOf('record-rollback', failedAfterSmoke(overrides)), deps())) as Outcome;
    expect(outcome.cause.endsWith(` ${sentence}`)).toBe(true);
    const report = JSON.parse((await store.get(outcome.reportKey!))!.body.toString());
    expect(report.restore.summary).toBe(sentence);
  });

  it('records an abort as an event only, keeping the snapshot it took', async () => {
    const slots = { ...emptySlots(), preflight, snapshot: { ...snapshot, status: 'creating' }, error: { Error: 'SnapshotTimedOut', Cause: `Snapshot ${snapshot.id} was not available after 240 checks` } };
    const outcome = (await runLedger(eventOf('record-abort', slots), deps())) as Outcome;
    expect(outcome).toEqual({
      result: 'aborted',
      cause: `Aborted deploy of v1.4.2 to shop-api before anything changed: SnapshotTimedOut: Snapshot ${snapshot.id} was not available after 240 checks. Snapshot ${snapshot.id} (creating) is kept.`,
      reportKey: `reports/shop-api/${deployment.id}.json`,
      ledgerKey: 'ledger/shop-api.json',
    });
    const doc = await ledger();
    expect(doc.current).toBeNull();
    expect(doc.releases).toEqual([]);
    expect(doc.events).toEqual([{ at: FINISHED, kind: 'aborted', detail: 'deploy-v1-4-2: deploy of v1.4.2 aborted after SnapshotTimedOut' }]);
  });

  it('records a failed rollback, saying the lock is kept for a person', async () => {
    const slots = failedAfterSmoke({ restore: { restored: false, decision: 'restoring', phase: 'restore' } as RestoreState, verify: null, rollbackError: { Error: 'RestoreTimedOut', Cause: 'Database restore stuck in phase restore after 360 checks' } });
    const outcome = (await runLedger(eventOf('record-rollback-failure', slots), deps())) as Outcome;
    expect(outcome.result).toBe('rollback-failed');
    expect(outcome.cause).toBe(
      'Rollback of shop-api from v1.4.2 to v1.4.1 failed: RestoreTimedOut: Database restore stuck in phase restore after 360 checks ' +
        '(it started after SmokeTestFailed: 1 of 5 checks failed: health). The lock on shop-api is kept, marked stuck, for a person: check the service and the database, then unlock it.',
    );
    expect((await ledger()).events.at(-1)).toMatchObject({ kind: 'rollback-failed' });
  });

  it('fails when record-release is sent without a release, naming the slot', async () => {
    await expect(runLedger(eventOf('record-release', { ...releasedSlots(), release: null }), deps())).rejects.toThrow(
      expect.objectContaining({ name: 'MissingSlotError', message: 'record-release needs $.release, but it is null' }),
    );
    expect(await store.get('ledger/shop-api.json')).toBeUndefined();
  });

  describe('record-kept: a release kept instead of rolled back (rollbackApproval, issue 12)', () => {
    it('makes a kept deploy current, as a release, and says who kept it and after what', async () => {
      const outcome = (await runLedger(eventOf('record-kept', keptAfterSmoke()), deps())) as Outcome;

      expect(outcome).toEqual({
        result: 'kept',
        cause:
          'Kept v1.4.2 on shop-api instead of rolling back after SmokeTestFailed: 1 of 5 checks failed: health. ' +
          'The rollback was rejected by lead@example.com (checkout fix needs v1.4.2; fixing forward): the new version was kept. Nothing was rolled back; the database was not touched.',
        reportKey: `reports/shop-api/${deployment.id}.json`,
        ledgerKey: 'ledger/shop-api.json',
      });
      const doc = await ledger();
      // A later alarm inside the window can still roll it back: it is the current release, not rolled back.
      expect(doc.current).toMatchObject({ deploymentId: deployment.id, version: 'v1.4.2', previous: preflight.running, rolledBack: null });
      expect(doc.releases.map((r) => r.deploymentId)).toEqual([deployment.id]);
      expect(doc.events).toEqual([{ at: FINISHED, kind: 'kept', detail: 'deploy-v1-4-2: v1.4.2 kept after SmokeTestFailed instead of rolling back' }]);
      expect(metrics.points).toContainEqual({ name: 'Deployments', unit: 'Count', value: 1, dimensions: { Outcome: 'kept' } });
    });

    it('puts the decision in the report: a Rollback approval section, no rollback, no restore', async () => {
      const outcome = (await runLedger(eventOf('record-kept', keptAfterSmoke()), deps())) as Outcome;

      const report = JSON.parse((await store.get(outcome.reportKey!))!.body.toString());
      expect(report).toMatchObject({
        outcome: { result: 'kept' },
        rollbackApproval: { decision: 'rejected', by: 'lead@example.com', comment: 'checkout fix needs v1.4.2; fixing forward', error: null },
        rollback: null,
        restore: null,
      });
      const markdown = (await store.get(`reports/shop-api/${deployment.id}.md`))!.body.toString();
      expect(markdown).toContain('# shop-api: deploy v1.4.2 — kept');
      expect(markdown).toContain('## Rollback approval\n\nThe rollback was rejected by lead@example.com (checkout fix needs v1.4.2; fixing forward): the new version was kept.');
      expect(markdown).not.toContain('## Rollback\n');
    });

    it('says that nobody answered when onTimeout kept the release', async () => {
      const slots = keptAfterSmoke({ rollbackApproval: null, rollbackApprovalError: { Error: 'States.Timeout', Cause: 'the activity task timed out' } });
      const outcome = (await runLedger(eventOf('record-kept', slots), deps())) as Outcome;

      expect(outcome.cause).toContain('Nobody answered the rollback approval in time: rollbackApproval.onTimeout decided.');
      const report = JSON.parse((await store.get(outcome.reportKey!))!.body.toString());
      expect(report.rollbackApproval).toMatchObject({ decision: 'unanswered', by: null, error: 'States.Timeout: the activity task timed out' });
    });

    it('leaves current as it was when an alarm rollback is kept, recording the decision in the history', async () => {
      await runLedger(eventOf('record-release', releasedSlots()), deps());
      const released = (await ledger()).current!;
      const alarmExecution = executionNamed('alarm-shop-api-5xx-rate');
      const slots = {
        ...releasedSlots(),
        execution: alarmExecution,
        deployment: deploymentFor(alarmExecution, { action: 'rollback', version: null, image: null, alarm: { name: 'shop-api-5xx-rate', reason: 'Threshold Crossed', time: FINISHED } }),
        preflight: null,
        release,
        window: {
          decision: 'rollback',
          message: 'Rolling back release v1.4.2 of shop-api to v1.4.1 for alarm shop-api-5xx-rate.',
          release: released,
          patch: { rollbackTo: preflight.running, snapshot: null, migrations: { started: false, status: 'not-run' }, error: { Error: 'AlarmFired', Cause: 'shop-api-5xx-rate entered ALARM' }, release },
        },
        error: { Error: 'AlarmFired', Cause: 'shop-api-5xx-rate entered ALARM' },
        rollbackApproval: REJECTED,
      };
      clock.advanceMinutes(60);
      const outcome = (await runLedger(eventOf('record-kept', slots), deps())) as Outcome;

      expect(outcome.result).toBe('kept');
      expect(outcome.cause.startsWith('Kept release v1.4.2 on shop-api instead of rolling back after AlarmFired: shop-api-5xx-rate entered ALARM.')).toBe(true);
      const doc = await ledger();
      expect(doc.current).toEqual(released);
      expect(doc.releases).toHaveLength(1);
      expect(doc.events.at(-1)).toMatchObject({ kind: 'kept', detail: 'alarm-shop-api-5xx-rate: v1.4.2 kept after AlarmFired instead of rolling back' });
    });

    it('names the person who approved the rollback in the rollback cause and the report', async () => {
      const outcome = (await runLedger(eventOf('record-rollback', failedAfterSmoke({ rollbackApproval: { approved: true, by: 'lead@example.com', comment: null } })), deps())) as Outcome;

      expect(outcome.cause).toMatch(/^Rolled back shop-api from v1\.4\.2 to v1\.4\.1 after SmokeTestFailed: 1 of 5 checks failed: health\. The rollback was approved by lead@example\.com\. Database restored/);
      const report = JSON.parse((await store.get(outcome.reportKey!))!.body.toString());
      expect(report.rollbackApproval).toMatchObject({ decision: 'approved', by: 'lead@example.com' });
    });

    it('writes no Rollback approval section when nobody was asked', async () => {
      const outcome = (await runLedger(eventOf('record-rollback', failedAfterSmoke()), deps())) as Outcome;

      const report = JSON.parse((await store.get(outcome.reportKey!))!.body.toString());
      expect(report.rollbackApproval).toBeNull();
      expect(report.execution.id).toBe(execution.id);
    });
  });
});

describe('ledger outcomes in S3', () => {
  const BUCKET = 'runbook-artifacts-123456789012';
  const client = new S3Client({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
  const s3 = mockClient(client);
  const deps = { store: new S3ArtifactStore(client, BUCKET), clock: fixedClock(FINISHED), metrics: new RecordingMetrics() };

  beforeEach(() => s3.reset());

  it('writes the report (JSON, Markdown), then creates the ledger with If-None-Match *', async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    await runLedger(eventOf('record-release', releasedSlots()), deps);

    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.Key, p.ContentType, p.IfNoneMatch, p.IfMatch])).toEqual([
      [`reports/shop-api/${deployment.id}.json`, 'application/json', undefined, undefined],
      [`reports/shop-api/${deployment.id}.md`, 'text/markdown; charset=utf-8', undefined, undefined],
      ['ledger/shop-api.json', 'application/json', '*', undefined],
    ]);
    expect(puts.every((p) => p.Bucket === BUCKET)).toBe(true);
    expect(s3).toHaveReceivedCommandExactlyOnceWith(GetObjectCommand, { Bucket: BUCKET, Key: 'ledger/shop-api.json' });
    expect(JSON.parse(String(puts[2].Body)).current.version).toBe('v1.4.2');
  });

  it("writes each analysis metric's chart beside the report, before it", async () => {
    s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } }));
    s3.on(PutObjectCommand).resolves({ ETag: '"e"' });
    const slots = releasedSlots();
    await runLedger(eventOf('record-release', { ...slots, bake: { ...slots.bake, analysis: [metricRecordOf('latency_p95', [0.21, 0.22])] } }), deps);

    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(puts.map((p) => [p.Key, p.ContentType])).toEqual([
      [`reports/shop-api/${deployment.id}.latency_p95.svg`, 'image/svg+xml; charset=utf-8'],
      [`reports/shop-api/${deployment.id}.json`, 'application/json'],
      [`reports/shop-api/${deployment.id}.md`, 'text/markdown; charset=utf-8'],
      ['ledger/shop-api.json', 'application/json'],
    ]);
    expect(String(puts[0].Body)).toContain('<title>latency_p95: passing</title>');
    expect(String(puts[2].Body)).toContain(`![latency_p95 over the bake](${deployment.id}.latency_p95.svg)`);
  });
});
