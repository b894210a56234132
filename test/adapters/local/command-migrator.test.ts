import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CommandMigrator } from '../../../adapters/local/command-migrator';
import { withDatabase } from '../../../adapters/local/pg-connection';
import { type PostgresServer, startPostgres } from '../../../local/postgres/server';
import { MigrationFailedError } from '../../../core/errors';
import type { DeployHandle, MigrationsState } from '../../../core/model';
import { REPO_ROOT } from '../../examples/demo-app-process';

const clock = { now: () => new Date('2025-01-02T03:04:05.000Z') };
const release = (version: string | null): DeployHandle => ({ kind: 'process', ref: version ?? 'none', version, image: null, deploymentId: 'process-1', startedAt: '2025-01-02T03:00:00.000Z' });

function migrator(command: string, env: NodeJS.ProcessEnv = {}) {
  return new CommandMigrator({ kind: 'command', command, cwd: REPO_ROOT }, { env: { PATH: process.env.PATH, ...env }, clock });
}

/** Polls status until the command has exited, returning the final state or the error. */
function finished(migrations: CommandMigrator, state: MigrationsState): Promise<MigrationsState | Error> {
  return vi.waitFor(
    async () => {
      const result = await migrations.status(state).catch((error: Error) => error);
      expect(result instanceof Error || result.status === 'succeeded').toBe(true);
      return result;
    },
    { timeout: 20_000, interval: 50 },
  );
}

describe('CommandMigrator', () => {
  it('starts the command with {{version}} filled in and reports it running', async () => {
    const migrations = migrator('sleep 5 # {{version}}');
    const state = await migrations.start(release('v2'));
    expect(state).toEqual({ started: true, status: 'running', ref: 'migration-1', startedAt: '2025-01-02T03:04:05.000Z', finishedAt: null, detail: expect.stringMatching(/^"sleep 5 # v2" is running \(pid \d+\)$/) });
    expect(await migrations.status(state)).toMatchObject({ status: 'running', detail: expect.stringMatching(/^"sleep 5 # v2" is running \(pid \d+\)$/) });
  });

  it('reports succeeded with the last line of output once the command exits 0', async () => {
    const migrations = migrator(`node -e "console.log('checking'); console.log('applied {{version}} with', process.env.DATABASE_URL ? 'a database' : 'none')"`, { DATABASE_URL: 'postgres://x' });
    const state = await migrations.start(release('v2'));
    expect(await finished(migrations, state)).toEqual({ ...state, status: 'succeeded', finishedAt: '2025-01-02T03:04:05.000Z', detail: 'applied v2 with a database' });
  });

  it('fails when the command exits non-zero: MigrationFailedError with the code and the end of stderr, passwords masked', async () => {
    const migrations = migrator('echo "connecting to postgres://app:hunter2@db/shop" >&2; echo "ERROR: column missing" >&2; exit 3');
    const failure = await finished(migrations, await migrations.start(release('v2')));
    expect(failure).toBeInstanceOf(MigrationFailedError);
    expect((failure as Error).message).toBe(
      '"echo "connecting to postgres://app:***@db/shop" >&2; echo "ERROR: column missing" >&2; exit 3" exited with code 3; stderr:\nconnecting to postgres://app:***@db/shop\nERROR: column missing',
    );
  });

  it('masks a password written into the command in the running detail', async () => {
    const migrations = migrator('sleep 5 # postgres://app:hunter2@db/shop {{version}}');
    const state = await migrations.start(release('v2'));
    expect(state.detail).toContain('postgres://app:***@db/shop v2');
    expect(JSON.stringify(state)).not.toContain('hunter2');
  });

  it('fails when asked about a run it did not start', async () => {
    await expect(migrator('true').status({ started: true, status: 'running', ref: 'migration-7', startedAt: null, finishedAt: null, detail: null })).rejects.toThrow(
      new MigrationFailedError('no migration run migration-7 was started by this rehearsal (migrations.ref)'),
    );
  });

  it('fails when the version would bring shell characters into the command', async () => {
    await expect(migrator('migrate {{version}}').start(release('v2$(id)'))).rejects.toThrow(MigrationFailedError);
  });

  describe('with the demo app migrations on PostgreSQL', () => {
    let server: PostgresServer;
    let url: string;

    beforeAll(async () => {
      server = await startPostgres();
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query('CREATE DATABASE shop');
      await admin.end();
      url = withDatabase(server.url, 'shop');
    });

    afterAll(async () => {
      await server?.stop();
    });

    it('migrates to v2, then fails on v3-broken naming the failed statement', async () => {
      const migrations = migrator('node examples/demo-app/migrate.mjs {{version}}', { DATABASE_URL: url });

      expect(await finished(migrations, await migrations.start(release('v2')))).toMatchObject({ status: 'succeeded', detail: 'applied v2' });

      const failure = await finished(migrations, await migrations.start(release('v3-broken')));
      expect(failure).toBeInstanceOf(MigrationFailedError);
      expect((failure as Error).message).toBe(
        '"node examples/demo-app/migrate.mjs v3-broken" exited with code 1; stderr:\nmigrate: migration v3-broken failed: relation "item_prices" does not exist',
      );
    });
  });
});
