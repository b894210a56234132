import { describe, expect, it } from 'vitest';
import { MigrationsEvent, runMigrations } from '../../../../core/tasks/migrations/migrations';
import type { Migrator } from '../../../../core/ports/migrator';
import { MigrationFailedError } from '../../../../core/errors';
import type { DeployHandle, MigrationsState } from '../../../../core/model';
import { config, deployment, fixedClock, newRelease, NOW } from '../../../adapters/aws/deploy-fixtures';

/** A migrator that answers with fixed states and leaves the time stamps to the task. */
class ScriptedMigrator implements Migrator {
  readonly started: DeployHandle[] = [];
  readonly checked: MigrationsState[] = [];
  constructor(private readonly next: MigrationsState | Error) {}
  async start(release: DeployHandle): Promise<MigrationsState> {
    this.started.push(release);
    return this.answer();
  }
  async status(state: MigrationsState): Promise<MigrationsState> {
    this.checked.push(state);
    return this.answer();
  }
  private answer(): MigrationsState {
    if (this.next instanceof Error) throw this.next;
    return this.next;
  }
}

const state = (status: MigrationsState['status']): MigrationsState => ({ started: false, status, ref: 'job-1', startedAt: null, finishedAt: null, detail: null });

describe('runMigrations', () => {
  it('starts the migrations of the new release and records when', async () => {
    const migrator = new ScriptedMigrator(state('running'));
    const event = MigrationsEvent.parse({ operation: 'start', config: config(), deployment, handle: newRelease });

    await expect(runMigrations(event, { migrator, clock: fixedClock })).resolves.toEqual({
      started: true,
      status: 'running',
      ref: 'job-1',
      startedAt: NOW.toISOString(),
      finishedAt: null,
      detail: null,
    });
    expect(migrator.started).toEqual([newRelease]);
  });

  it('keeps the start time a migrator reports', async () => {
    const migrator = new ScriptedMigrator({ ...state('running'), startedAt: '2025-06-01T10:02:00.000Z' });
    const event = MigrationsEvent.parse({ operation: 'start', config: config(), deployment, handle: newRelease });

    await expect(runMigrations(event, { migrator, clock: fixedClock })).resolves.toMatchObject({ startedAt: '2025-06-01T10:02:00.000Z' });
  });

  it('stamps the finish time once the migrations succeeded', async () => {
    const migrator = new ScriptedMigrator(state('succeeded'));
    const current = { ...state('running'), started: true, startedAt: '2025-06-01T10:02:00.000Z' };
    const event = MigrationsEvent.parse({ operation: 'status', config: config(), deployment, migrations: current });

    await expect(runMigrations(event, { migrator, clock: fixedClock })).resolves.toMatchObject({
      started: true,
      status: 'succeeded',
      finishedAt: NOW.toISOString(),
    });
    expect(migrator.checked).toEqual([current]);
  });

  it('leaves the finish time empty while they run', async () => {
    const migrator = new ScriptedMigrator(state('running'));
    const event = MigrationsEvent.parse({ operation: 'status', config: config(), deployment, migrations: { ...state('running'), started: true } });

    await expect(runMigrations(event, { migrator, clock: fixedClock })).resolves.toMatchObject({ status: 'running', finishedAt: null, started: true });
  });

  it('fails with the migrator error so the state machine rolls back', async () => {
    const migrator = new ScriptedMigrator(new MigrationFailedError('container api exited with code 1'));
    const event = MigrationsEvent.parse({ operation: 'status', config: config(), deployment, migrations: { ...state('running'), started: true } });

    await expect(runMigrations(event, { migrator, clock: fixedClock })).rejects.toThrow(new MigrationFailedError('container api exited with code 1'));
  });

  it('fails to parse a status check without the migrations slot', () => {
    expect(MigrationsEvent.safeParse({ operation: 'status', config: config(), deployment }).success).toBe(false);
  });
});
