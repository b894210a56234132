import { DataChecksEvent, runDataChecks } from '../../../../core/tasks/data-checks/data-checks';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeploymentLockEvent, type LockRecord, runDeploymentLock } from '../../../../core/tasks/deployment-lock/deployment-lock';
import { LedgerEvent, runLedger } from '../../../../core/tasks/ledger/ledger';
import { readLedger } from '../../../../core/tasks/ledger/release-ledger';
import { notify, NotifyEvent } from '../../../../core/tasks/notify/notify';
import { systemClock } from '../../../../core/ports/clock';
import { DeploymentFailedError } from '../../../../core/errors';
import { validateInput, ValidateInputEvent } from '../../../../core/tasks/validate-input/validate-input';
import { runRunbook, type TaskCall } from '../../../../local/engine/engine';
import { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import { LocalNotifier } from '../../../../adapters/local/local-notifier';
import { alarmsIn } from '../../../support/builders';
import { bake, config, migrations, preflight, restored, smokeReport, snapshot, RecordingMetrics } from './fixtures';

/**
 * The lock, ledger and notify functions run for real behind the state machine definition, so the
 * events they parse are exactly the Parameters the ASL sends; the other Tasks are scripted.
 */

const IMAGE = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v1.4.2';

interface Script {
  smokePasses?: boolean;
  rollbackFails?: boolean;
}

describe('lock, ledger and notify behind the runbook definition', () => {
  let root: string;
  let store: FileArtifactStore;
  const printed: string[] = [];

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'asl-contract-'));
    store = new FileArtifactStore(root);
    printed.length = 0;
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function run(executionName: string, input: object, script: Script = {}) {
    const deps = { store, clock: systemClock, metrics: new RecordingMetrics(), alarms: alarmsIn('ALARM', new Date().toISOString(), 'Threshold Crossed: 5.2 > 1.0') };
    let bakeChecks = 0;
    const handler = async ({ state, folder, event }: TaskCall): Promise<unknown> => {
      const e = event as Record<string, unknown>;
      switch (folder) {
        case 'validate-input':
          return validateInput(ValidateInputEvent.parse(event), deps);
        case 'deployment-lock':
          return runDeploymentLock(DeploymentLockEvent.parse(event), deps);
        case 'ledger':
          return runLedger(LedgerEvent.parse(event), deps);
        case 'notify':
          return notify(NotifyEvent.parse(event), { notifier: new LocalNotifier(store, (line) => printed.push(line)) });
        case 'preflight':
          return preflight;
        case 'database-snapshot':
          return e.operation === 'take' ? { ...snapshot, status: 'creating' } : snapshot;
        case 'deploy-target':
          if (e.operation === 'deploy') return { kind: 'ecs', ref: 'td:42', version: 'v1.4.2', image: IMAGE, deploymentId: 'ecs-1', startedAt: new Date().toISOString() };
          if (e.operation === 'rollback') {
            if (script.rollbackFails) throw new DeploymentFailedError('ECS deployment circuit breaker: tasks failed to start');
            return { kind: 'ecs', ref: preflight.running.ref, version: 'v1.4.1', image: null, deploymentId: 'ecs-2', startedAt: new Date().toISOString() };
          }
          return { status: 'completed', detail: 'rollout completed', checkedAt: new Date().toISOString() };
        case 'migrations':
          return migrations;
        case 'smoke-test':
          return state === 'VerifyRollback' ? smokeReport('rollback') : smokeReport('deploy', script.smokePasses === false ? ['health'] : []);
        case 'evaluate-alarms':
          bakeChecks++;
          return { ...bake, checks: bakeChecks };
        case 'restore-database':
          return restored;
        case 'data-checks':
          // No SQL checks and no connection configured: every phase passes without reaching a database.
          return runDataChecks(DataChecksEvent.parse(event), { inspector: null, clock: systemClock });
        default:
          throw new Error(`no script for ${state} (${folder})`);
      }
    };
    return runRunbook({ config, input: input as never, handler, executionName });
  }

  const deploy = { version: 'v1.4.2', image: IMAGE, requestedBy: 'ci@github-actions' };
  const alarm = { action: 'rollback', alarm: { name: 'shop-api-5xx-rate', reason: 'Threshold Crossed: 5.2 > 1.0' }, requestedBy: 'eventbridge' };
  const lock = async () => JSON.parse((await store.get('locks/shop-api.json'))!.body.toString()) as LockRecord;

  it('records a release, releases the lock and tells people', async () => {
    const result = await run('deploy-1', deploy);
    expect(result.status).toBe('SUCCEEDED');
    const { document } = await readLedger(store, 'shop-api');
    expect(document.current).toMatchObject({ version: 'v1.4.2', ref: 'td:42', previous: preflight.running, migrationsRan: true });
    expect(await lock()).toMatchObject({ owner: 'deploy-1', state: 'released' });
    const manifest = await store.get(`backups/shop-api/${document.current!.deploymentId}.json`);
    expect(JSON.parse(manifest!.body.toString())).toMatchObject({ deploymentId: document.current!.deploymentId, snapshot: { id: document.current!.snapshot!.id } });
    // Issue 13: the start is told first, then the release.
    expect(printed[0]).toMatch(/\[started → all\] shop-api: deploying v1\.4\.2$/);
    expect(printed.filter((line) => /^\S+ \[/.test(line)).map((line) => line.replace(/^\S+ /, ''))).toEqual([
      '[started → all] shop-api: deploying v1.4.2',
      '[succeeded → all] shop-api: v1.4.2 released',
    ]);
  });

  it('ends a failed deploy with the rollback sentence as the Cause', async () => {
    const result = await run('deploy-2', deploy, { smokePasses: false });
    expect(result.error).toBe('RolledBack');
    expect(result.cause).toBe(
      `Rolled back shop-api from v1.4.2 to v1.4.1 after SmokeTestFailed: 1 of 5 checks failed: health. Database restored from snapshot ${snapshot.id}; the failed database is kept as shop-prod-db-failed-20250304101800.`,
    );
    expect(await lock()).toMatchObject({ state: 'released' });
    expect(printed.some((line) => line.includes('[rolled-back → all]'))).toBe(true);
  });

  it('rolls a release back once for an alarm, and not again for the next one', async () => {
    await run('deploy-3', deploy);
    const first = await run('alarm-1', alarm);
    expect(first.error).toBe('RolledBack');
    expect(first.cause).toMatch(/^Rolled back shop-api from v1\.4\.2 to v1\.4\.1 after AlarmFired: Alarm shop-api-5xx-rate entered ALARM \d+ min after release v1\.4\.2: Threshold Crossed: 5\.2 > 1\.0\. Database not restored: /);
    const second = await run('alarm-2', alarm);
    expect(second.status).toBe('SUCCEEDED');
    expect(printed.some((line) => line.includes('[no-rollback → all] shop-api: no rollback (already-rolled-back)'))).toBe(true);
    const { document } = await readLedger(store, 'shop-api');
    expect(document.current).toMatchObject({ version: 'v1.4.1' });
    expect(document.releases[0]).toMatchObject({ version: 'v1.4.2', rolledBack: { executionId: expect.stringContaining('alarm-1') } });
  });

  it('keeps the lock for a person when the rollback fails, and refuses the next deploy', async () => {
    const failed = await run('deploy-4', deploy, { smokePasses: false, rollbackFails: true });
    expect(failed.error).toBe('RollbackFailed');
    expect(await lock()).toMatchObject({ owner: 'deploy-4', state: 'stuck', note: 'DeploymentFailedError: ECS deployment circuit breaker: tasks failed to start' });
    expect(printed.some((line) => line.includes('ACTION NEEDED: shop-api rollback failed'))).toBe(true);

    const next = await run('deploy-5', { ...deploy, version: 'v1.4.3', image: IMAGE.replace('v1.4.2', 'v1.4.3') });
    expect(next.error).toBe('DeploymentInProgress');
    expect(next.cause).toContain('a rollback by execution deploy-4');
    expect(next.cause).toContain('a person must check the target');
  });
});
