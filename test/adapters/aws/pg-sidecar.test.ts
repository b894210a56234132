import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import { PgBackups } from '../../../adapters/local/pg-backups';
import { parsePostgresUrl } from '../../../adapters/local/pg-connection';
import { PgRestorer } from '../../../adapters/local/pg-restorer';
import { SIDECAR_SCRIPT, SidecarPgPrograms, WORK_DIR_ENV } from '../../../adapters/aws/pg-sidecar';
import { SnapshotFailedError } from '../../../core/errors';
import type { RestoreState } from '../../../core/model';
import { exitOf } from '../../../local/postgres/process';
import { createDatabase, databaseNames, destructiveMigration, fingerprint, POSTGRES_CONFIG, seedShop, tickingClock, usePostgres, useStoreRoot } from '../../local/postgres/fixtures';

const server = usePostgres();
const storeRoot = useStoreRoot();
const SMALL = { customers: 200, orders: 600 };

interface Sidecar {
  readonly programs: SidecarPgPrograms;
  readonly process: ChildProcess;
  readonly exit: ReturnType<typeof exitOf>;
  readonly dir: string;
}
const running: Sidecar[] = [];

/**
 * SIDECAR_SCRIPT run as the task's postgres container runs it: `sh -c`, the client programs on the PATH,
 * the server and credentials in PG* variables (ECS fills them from the connection secret), a shared directory.
 */
async function startSidecar(): Promise<Sidecar> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecar-'));
  const { password } = parsePostgresUrl(server().url);
  const child = spawn('sh', ['-c', SIDECAR_SCRIPT], {
    env: {
      PATH: `${server().binDir}:/usr/bin:/bin`,
      PGHOST: '127.0.0.1',
      PGPORT: String(server().port),
      PGUSER: 'postgres',
      PGPASSWORD: password,
      [WORK_DIR_ENV]: dir,
    },
    stdio: 'ignore',
  });
  const sidecar = { programs: new SidecarPgPrograms(dir, { pollMs: 20 }), process: child, exit: exitOf(child), dir };
  running.push(sidecar);
  return sidecar;
}

afterEach(async () => {
  for (const sidecar of running.splice(0)) {
    sidecar.process.kill();
    await rm(sidecar.dir, { recursive: true, force: true });
  }
});

describe('SidecarPgPrograms with SIDECAR_SCRIPT', () => {
  it('lets PgBackups stream a dump out of the sidecar into the store and list what was stored', async () => {
    const url = await createDatabase(server(), 'side_shop');
    await seedShop(url, SMALL);
    const { programs } = await startSidecar();
    const store = new FileArtifactStore(storeRoot());
    const backups = new PgBackups(POSTGRES_CONFIG, { url, target: 'shop', store, clock: tickingClock(), programs });

    const snapshot = await backups.create('snap-side', {});
    const verification = await backups.verify(snapshot, await backups.describe());

    expect(snapshot).toMatchObject({ status: 'available', source: 'side_shop', location: 'backups/shop/snap-side.dump' });
    expect(snapshot.sizeBytes).toBeGreaterThan(10_000);
    expect(verification).toEqual(['sha256 matches', 'pg_restore --list: 12 entries, 3 tables']);
  });

  it('reports pg_dump failing in the sidecar, stores nothing, and serves the next request', async () => {
    const url = await createDatabase(server(), 'side_present');
    const { programs } = await startSidecar();
    const store = new FileArtifactStore(storeRoot());
    const missing = url.replace('/side_present', '/side_missing');

    const attempt = new PgBackups(POSTGRES_CONFIG, { url: missing, target: 'shop', store, clock: tickingClock(), programs }).create('snap-missing', {});

    await expect(attempt).rejects.toThrow(SnapshotFailedError);
    await expect(attempt).rejects.toThrow(/^pg_dump of database "side_missing" exited with 1: .*database "side_missing" does not exist/s);
    expect(await readdir(join(storeRoot(), 'backups/shop'))).not.toContain('snap-missing.dump');
    const next = await new PgBackups(POSTGRES_CONFIG, { url, target: 'shop', store, clock: tickingClock(), programs }).create('snap-present', {});
    expect(next.status).toBe('available');
  });

  it('lets PgRestorer restore into a new database and swap it in, keeping the failed copy', async () => {
    const url = await createDatabase(server(), 'side_restore');
    await seedShop(url, SMALL);
    const before = await fingerprint(url);
    const { programs } = await startSidecar();
    const store = new FileArtifactStore(storeRoot());
    const snapshot = await new PgBackups(POSTGRES_CONFIG, { url, target: 'shop', store, clock: tickingClock(), programs }).create('snap-restore', {});
    await destructiveMigration(url);

    const restorer = new PgRestorer(POSTGRES_CONFIG, { url, store, clock: tickingClock('2025-03-04T06:00:00.000Z'), programs });
    let state: RestoreState | null = null;
    for (let call = 0; call < 6 && state?.phase !== 'done'; call++) state = await restorer.advance(snapshot, state);

    expect(state).toMatchObject({ phase: 'done', failedCopy: 'side_restore_failed_20250304060000' });
    expect(await fingerprint(url)).toEqual(before);
    expect(await databaseNames(server())).toContain('side_restore_failed_20250304060000');
  });

  it('refuses a database name the sidecar would read as connection parameters, before asking it anything', async () => {
    const { programs } = await startSidecar();
    const target = { safeUrl: 'postgres://x/y', password: undefined, database: 'shop host=evil' };

    await expect(programs.restore(Readable.from([Buffer.from('PGDMP')]), target)).rejects.toThrow('database name "shop host=evil" cannot be passed to pg_dump/pg_restore');
  });

  it('ends when asked to', async () => {
    const { programs, exit } = await startSidecar();
    await programs.close();
    expect(await exit).toEqual({ code: 0, signal: null });
  });
});
