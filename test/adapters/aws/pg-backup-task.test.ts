import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import { parsePostgresUrl, postgresUrl, withDatabase } from '../../../adapters/local/pg-connection';
import { PgRestorer } from '../../../adapters/local/pg-restorer';
import { PostgresDatabase } from '../../../config/schema';
import { connectionUrlFromEnv, runBackupTask, taskRequestFrom } from '../../../adapters/aws/pg-backup-task';
import { SIDECAR_SCRIPT, SidecarPgPrograms, WORK_DIR_ENV } from '../../../adapters/aws/pg-sidecar';
import { MissingEnvironmentError } from '../../../core/errors';
import { createDatabase, databaseNames, destructiveMigration, fingerprint, seedShop, tickingClock, usePostgres, useStoreRoot } from '../../local/postgres/fixtures';

const server = usePostgres();
const storeRoot = useStoreRoot();
const running: { child: ChildProcess; dir: string }[] = [];

/** The task's two containers, here: SIDECAR_SCRIPT with the PG* variables ECS would inject, and the Node side's env. */
async function taskEnvironment(database: string): Promise<{ env: NodeJS.ProcessEnv; programs: SidecarPgPrograms }> {
  const dir = await mkdtemp(join(tmpdir(), 'task-'));
  const { password } = parsePostgresUrl(server().url);
  const env = { PGHOST: '127.0.0.1', PGPORT: String(server().port), PGUSER: 'postgres', PGPASSWORD: password, PGDATABASE: database, PGSSLMODE: 'disable', [WORK_DIR_ENV]: dir };
  const child = spawn('sh', ['-c', SIDECAR_SCRIPT], { env: { ...env, PATH: `${server().binDir}:/usr/bin:/bin` }, stdio: 'ignore' });
  running.push({ child, dir });
  return { env, programs: new SidecarPgPrograms(dir, { pollMs: 20 }) };
}

afterEach(async () => {
  for (const { child, dir } of running.splice(0)) {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
});

describe('the backup task (runBackupTask)', () => {
  it('backs up, then restores by rename-swap, writing the outcome the Lambda side reads; exit 0 each time', async () => {
    const url = await createDatabase(server(), 'task_shop');
    await seedShop(url, { customers: 100, orders: 300 });
    const before = await fingerprint(url);
    const { env, programs } = await taskEnvironment('task_shop');
    const store = new FileArtifactStore(storeRoot());
    const logs: string[] = [];
    const deps = { store, programs, clock: tickingClock(), log: (line: string) => logs.push(line) };
    const taskUrl = connectionUrlFromEnv(env);

    const backup = taskRequestFrom({ TASK_REQUEST: JSON.stringify({ mode: 'backup', target: 'shop', snapshotId: 'snap-task', tags: {} }) });
    expect(await runBackupTask(backup, taskUrl, deps)).toBe(0);
    const meta = JSON.parse(await readFile(store.locate('backups/shop/snap-task.meta.json'), 'utf8'));
    expect(meta).toMatchObject({ status: 'available', source: 'task_shop' });

    await destructiveMigration(url);
    const snapshot = { id: 'snap-task', arn: null, kind: 'postgres', source: 'task_shop', status: 'available', engine: 'postgres', encrypted: null, sizeBytes: meta.bytes, location: 'backups/shop/snap-task.dump', checksum: meta.sha256, startedAt: meta.startedAt, completedAt: meta.completedAt, verification: [] };
    const restore = taskRequestFrom({ TASK_REQUEST: JSON.stringify({ mode: 'restore', snapshot, startedAt: '2025-03-04T07:00:00.000Z', resultKey: 'backups/shop/snap-task.restore-20250304070000.json' }) });
    expect(await runBackupTask(restore, taskUrl, deps)).toBe(0);

    const outcome = JSON.parse(await readFile(store.locate('backups/shop/snap-task.restore-20250304070000.json'), 'utf8'));
    expect(outcome).toMatchObject({ status: 'restored', error: null, state: { phase: 'done', failedCopy: 'task_shop_failed_20250304070000' } });
    expect(await fingerprint(url)).toEqual(before);
    expect(await databaseNames(server())).toContain('task_shop_failed_20250304070000');
    expect(logs.join('\n')).not.toContain(env.PGPASSWORD);
  });

  it('restores a drill copy beside the live database (drill-restore), which the function side then drops; the live database is not touched', async () => {
    const url = await createDatabase(server(), 'task_drill');
    await seedShop(url, { customers: 50, orders: 120 });
    const before = await fingerprint(url);
    const { env, programs } = await taskEnvironment('task_drill');
    const store = new FileArtifactStore(storeRoot());
    const logs: string[] = [];
    const deps = { store, programs, clock: tickingClock(), log: (line: string) => logs.push(line) };
    const taskUrl = connectionUrlFromEnv(env);
    const backup = taskRequestFrom({ TASK_REQUEST: JSON.stringify({ mode: 'backup', target: 'shop', snapshotId: 'snap-drill', tags: {} }) });
    expect(await runBackupTask(backup, taskUrl, deps)).toBe(0);
    const meta = JSON.parse(await readFile(store.locate('backups/shop/snap-drill.meta.json'), 'utf8'));
    const snapshot = { id: 'snap-drill', arn: null, kind: 'postgres', source: 'task_drill', status: 'available', engine: 'postgres', encrypted: null, sizeBytes: meta.bytes, location: 'backups/shop/snap-drill.dump', checksum: meta.sha256, startedAt: meta.startedAt, completedAt: meta.completedAt, verification: [] as string[] } as const;

    const request = taskRequestFrom({ TASK_REQUEST: JSON.stringify({ mode: 'drill-restore', snapshot, startedAt: '2025-03-04T08:00:00.000Z', resultKey: 'backups/shop/snap-drill.drill-20250304080000.json' }) });
    expect(await runBackupTask(request, taskUrl, deps)).toBe(0);

    const copy = 'task_drill_drill_20250304080000';
    const outcome = JSON.parse(await readFile(store.locate('backups/shop/snap-drill.drill-20250304080000.json'), 'utf8'));
    expect(outcome).toMatchObject({ status: 'restored', error: null, state: { phase: 'done', scratch: copy, failedCopy: null } });
    expect(await fingerprint(withDatabase(url, copy))).toEqual(before);
    expect(await fingerprint(url)).toEqual(before);
    expect((await databaseNames(server())).filter((name) => name.startsWith('task_drill'))).toEqual(['task_drill', copy]);
    expect(logs).toEqual(expect.arrayContaining([expect.stringContaining('"message":"drill restore restored"')]));

    // The restore-database function's discard: PgRestorer over a URL of the secret's parts, no pg program at hand.
    const functionUrl = postgresUrl({ host: '127.0.0.1', port: server().port, user: 'postgres', password: env.PGPASSWORD!, database: 'task_drill', sslmode: 'disable' });
    const discarded = await new PgRestorer(PostgresDatabase.parse({ kind: 'postgres' }), { url: functionUrl, store, clock: tickingClock(), binDir: '/nonexistent' }).discardScratch(snapshot, outcome.state);
    expect(discarded).toMatchObject({ phase: 'discarded', scratch: copy });
    expect((await databaseNames(server())).filter((name) => name.startsWith('task_drill'))).toEqual(['task_drill']);
    expect(await fingerprint(url)).toEqual(before);
  });

  it('exits 1 with the meta marked failed when the database cannot be dumped, the password never logged', async () => {
    const { env, programs } = await taskEnvironment('task_absent');
    const store = new FileArtifactStore(storeRoot());
    const logs: string[] = [];
    const backup = taskRequestFrom({ TASK_REQUEST: JSON.stringify({ mode: 'backup', target: 'shop', snapshotId: 'snap-absent', tags: {} }) });

    expect(await runBackupTask(backup, connectionUrlFromEnv(env), { store, programs, clock: tickingClock(), log: (line) => logs.push(line) })).toBe(1);

    const meta = JSON.parse(await readFile(store.locate('backups/shop/snap-absent.meta.json'), 'utf8'));
    expect(meta).toMatchObject({ status: 'failed', error: expect.stringMatching(/^pg_dump of database "task_absent" exited with 1: .*does not exist/s) });
    expect(logs.join('\n')).not.toContain(env.PGPASSWORD);
  });

  it('refuses to start without its request or connection, naming what is missing', () => {
    expect(() => taskRequestFrom({})).toThrow(new MissingEnvironmentError('TASK_REQUEST is not set: the backup task is started by the runbook with its request'));
    expect(() => taskRequestFrom({ TASK_REQUEST: '{"mode":"backup"}' })).toThrow(/^TASK_REQUEST is not a backup or restore request: /);
    expect(() => connectionUrlFromEnv({ PGHOST: 'db', PGPORT: '5432', PGUSER: 'app' })).toThrow('missing: PGPASSWORD, PGDATABASE');
  });

  it('builds the URL from the PG* variables, encoding what a URL cannot hold as it is', () => {
    const url = connectionUrlFromEnv({ PGHOST: 'db.internal', PGPORT: '6432', PGUSER: 'app', PGPASSWORD: 'p@ss/word:1', PGDATABASE: 'shop', PGSSLMODE: 'require' });
    expect(parsePostgresUrl(url)).toEqual({ safeUrl: 'postgres://app@db.internal:6432/shop?sslmode=require', password: 'p@ss/word:1', database: 'shop' });
  });
});
