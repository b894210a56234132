import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunbookConfig } from '../../../config/schema';
import { runDatabaseSnapshot } from '../../../core/tasks/database-snapshot/database-snapshot';
import { snapshotIdFor } from '../../../core/tasks/database-snapshot/snapshot-id';
import { runRestoreDatabase } from '../../../core/tasks/restore-database/restore-database';
import type { Clock } from '../../../core/ports/clock';
import { deploymentIdFor } from '../../../core/deployment-id';
import { RestoreFailedError } from '../../../core/errors';
import type { Execution, RestoreState, SnapshotRef } from '../../../core/model';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import { PgBackups } from '../../../adapters/local/pg-backups';
import { parsePostgresUrl, withClient, withDatabase } from '../../../adapters/local/pg-connection';
import { PgRestorer, type PgRestorerOptions } from '../../../adapters/local/pg-restorer';
import { programEnv, runProgram } from '../../../local/postgres/process';
import {
  CountingStore,
  createDatabase,
  databaseNames,
  destructiveMigration,
  fingerprint,
  type Fingerprint,
  POSTGRES_CONFIG,
  seedShop,
  tickingClock,
  usePostgres,
  useStoreRoot,
} from '../../local/postgres/fixtures';
import { deploymentFor, storedDumpOf } from '../../support/builders';

const server = usePostgres();
const storeRoot = useStoreRoot();

const SMALL = { customers: 200, orders: 600 };

function store(): FileArtifactStore {
  return new FileArtifactStore(storeRoot());
}

function restorer(url: string, overrides: Partial<PgRestorerOptions> = {}): PgRestorer {
  return new PgRestorer(POSTGRES_CONFIG, { url, store: store(), clock: tickingClock(), binDir: server().binDir, ...overrides });
}

/** A seeded database and a verified dump of it, taken with PgBackups. */
async function databaseWithBackup(name: string): Promise<{ url: string; snapshot: SnapshotRef; before: Fingerprint }> {
  const url = await createDatabase(server(), name);
  await seedShop(url, SMALL);
  const snapshot = await new PgBackups(POSTGRES_CONFIG, { url, target: 'shop', store: store(), clock: tickingClock(), binDir: server().binDir }).create(`snap-${name}`, {});
  return { url, snapshot, before: await fingerprint(url) };
}

/** Calls advance until the restore is done, as the state machine's loop does. */
async function restoreToEnd(target: PgRestorer, snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
  let current = state;
  for (let call = 0; call < 8; call++) {
    current = await target.advance(snapshot, current);
    if (current.phase === 'done') return current;
  }
  throw new Error(`restore not done after 8 calls: ${JSON.stringify(current)}`);
}

async function namesLike(pattern: RegExp): Promise<string[]> {
  return (await databaseNames(server())).filter((name) => pattern.test(name));
}

async function allowsConnections(name: string): Promise<boolean> {
  return withClient(server().url, async (client) => (await client.query<{ ok: boolean }>('SELECT datallowconn AS ok FROM pg_database WHERE datname = $1', [name])).rows[0].ok);
}

describe('restore through the runbook\'s own logic', () => {
  const deploymentId = deploymentIdFor('release-v2', 'arn:aws:states:eu-west-1:123456789012:execution:deploy-runbook-shop:release-v2');
  const config = RunbookConfig.parse({
    name: 'shop',
    target: { kind: 'process', command: ['node', 'app.js', '{{version}}'], port: 3999 },
    database: { kind: 'postgres', restorePolicy: 'when-migrations-ran' },
    smokeTests: { baseUrl: 'http://127.0.0.1:3999', checks: [{ name: 'health', path: '/health' }] },
  });
  const execution: Execution = { id: 'arn:aws:states:eu-west-1:123456789012:execution:deploy-runbook-shop:release-v2', name: 'release-v2', startedAt: '2025-03-04T05:00:00.000Z' };
  const deployment = deploymentFor(execution, { id: deploymentId, target: 'shop', version: 'v2', image: null, requestedBy: 'ci', bakeChecks: 1 });

  let url: string;
  let clock: Clock;
  let before: Fingerprint;
  let snapshot: SnapshotRef;
  let broken: Fingerprint;
  let finalState: RestoreState;
  let calls: RestoreState[];

  beforeAll(async () => {
    url = await createDatabase(server(), 'shop');
    await seedShop(url);
    before = await fingerprint(url);
    clock = tickingClock();
    const backups = new PgBackups(POSTGRES_CONFIG, { url, target: 'shop', store: store(), clock, binDir: server().binDir });

    const taken = await runDatabaseSnapshot({ operation: 'take', config, deployment }, { backups, clock });
    snapshot = await runDatabaseSnapshot({ operation: 'check', config, deployment, source: await backups.describe(), snapshot: taken }, { backups, clock });

    await destructiveMigration(url);
    broken = await fingerprint(url);

    const restorer = new PgRestorer(POSTGRES_CONFIG, { url, store: store(), clock, binDir: server().binDir });
    calls = [];
    let restore: RestoreState | null = null;
    while (restore?.phase !== 'done' && calls.length < 8) {
      restore = await runRestoreDatabase({ config, deployment, snapshot, restore }, { restorer, clock });
      calls.push(restore);
    }
    finalState = calls[calls.length - 1];
  });

  it('takes and verifies the pre-deploy dump under the deployment\'s snapshot id', () => {
    expect(snapshot).toMatchObject({
      id: snapshotIdFor('shop', deploymentId),
      kind: 'postgres',
      source: 'shop',
      status: 'available',
      location: `backups/shop/${snapshotIdFor('shop', deploymentId)}.dump`,
      verification: ['sha256 matches', 'pg_restore --list: 12 entries, 3 tables'],
    });
  });

  it('the migration really changed the data it is restored from', () => {
    expect(broken).not.toEqual(before);
    expect(broken.tables).toEqual(['audit_log', 'customers', 'orders', 'settings']);
  });

  it('brings back exactly the pre-deploy data: tables, row counts and checksums', async () => {
    expect(finalState).toMatchObject({ restored: true, decision: 'restored', phase: 'done', snapshotId: snapshot.id });
    const after = await fingerprint(url);
    expect(after).toEqual(before);
    expect(after.rows).toEqual({ customers: 2000, orders: 8000, settings: 5 });
  });

  it('keeps the broken database, with its broken data, under the failed name', async () => {
    expect(finalState.failedCopy).toMatch(/^shop_failed_\d{14}$/);
    expect(await fingerprint(withDatabase(server().url, finalState.failedCopy as string))).toEqual(broken);
  });

  it('takes one step per call and leaves no scratch database behind', async () => {
    expect(calls.map((c) => c.phase)).toEqual(['restore', 'swap', 'verify', 'done']);
    expect(finalState.steps.map((s) => s.phase)).toEqual(['create-scratch', 'restore', 'swap', 'verify']);
    expect(await namesLike(/^shop_restore_/)).toEqual([]);
    expect(await namesLike(/^shop(_|$)/)).toEqual(['shop', finalState.failedCopy]);
  });

  it('keeps the restored database usable with its constraints: the foreign key still holds', async () => {
    const insert = withClient(url, (client) => client.query("INSERT INTO orders VALUES (900001, 999999, 100, 'paid')"));

    await expect(insert).rejects.toThrow(/violates foreign key constraint "orders_customer_id_fkey"/);
  });
});

describe('PgRestorer after a crash', () => {
  it.each([
    ['create-scratch', 0],
    ['restore', 1],
    ['swap', 2],
    ['verify', 3],
  ] as const)('converges when the %s call ran but its result was lost', async (phase, index) => {
    const name = `crash_${phase.replace('-', '_')}`;
    const { url, snapshot, before } = await databaseWithBackup(name);
    await destructiveMigration(url);
    const broken = await fingerprint(url);
    const counting = new CountingStore(store());
    const target = restorer(url, { store: counting });
    let state: RestoreState | null = null;
    for (let call = 0; call < index; call++) state = await target.advance(snapshot, state);

    const lost = await target.advance(snapshot, state);
    const readsAfterLostCall = counting.reads.get(snapshot.location as string) ?? 0;
    const rerun = await target.advance(snapshot, state);

    expect(rerun.phase).toBe(lost.phase === 'done' ? 'done' : RESTORE_NEXT[lost.phase as string]);
    if (phase === 'restore') expect(counting.reads.get(snapshot.location as string)).toBe(readsAfterLostCall);
    const done = await restoreToEnd(target, snapshot, rerun);
    expect(await fingerprint(url)).toEqual(before);
    expect(await namesLike(new RegExp(`^${name}_restore_`))).toEqual([]);
    const failed = await namesLike(new RegExp(`^${name}_failed_`));
    expect(failed).toHaveLength(1);
    expect(done.failedCopy).toBe(failed[0]);
    expect(await fingerprint(withDatabase(server().url, failed[0]))).toEqual(broken);
  });

  it('creates a single scratch database when the first call is repeated with no state', async () => {
    const { url, snapshot } = await databaseWithBackup('crash_first');
    const target = restorer(url);

    const first = await target.advance(snapshot, null);
    const again = await restorer(url, { clock: tickingClock('2025-03-04T09:00:00.000Z') }).advance(snapshot, null);

    expect(await namesLike(/^crash_first_restore_/)).toEqual(['crash_first_restore_20250304050607']);
    expect(first.steps.map((s) => s.phase)).toEqual(['create-scratch']);
    expect(again).toMatchObject({ phase: 'swap', startedAt: '2025-03-04T05:06:07.000Z' });
  });

  it('restores again into a clean scratch when pg_restore died half-way', async () => {
    const { url, snapshot, before } = await databaseWithBackup('crash_mid_restore');
    const created = await restorer(url).advance(snapshot, null);
    const failing = new CountingStore(store());
    // The second read of the dump is the one pg_restore consumes: cut it off after a few bytes.
    failing.getStream = async (key) => {
      failing.reads.set(key, (failing.reads.get(key) ?? 0) + 1);
      if (failing.reads.get(key) !== 2) return failing.inner.getStream(key);
      const head = (await readFile(failing.inner.locate(key))).subarray(0, 4096);
      return Readable.from((async function* () {
        yield head;
        throw new Error('disk went away');
      })());
    };

    await expect(restorer(url, { store: failing }).advance(snapshot, created)).rejects.toThrow(RestoreFailedError);
    const scratch = withDatabase(server().url, 'crash_mid_restore_restore_20250304050607');
    expect((await fingerprint(scratch)).tables).toEqual([]);

    const done = await restoreToEnd(restorer(url), snapshot, created);
    expect(done.phase).toBe('done');
    expect(await fingerprint(url)).toEqual(before);
  });

  it('discards a restore that finished but was never marked, instead of trusting it', async () => {
    const { url, snapshot, before } = await databaseWithBackup('crash_unmarked');
    const created = await restorer(url).advance(snapshot, null);
    const scratch = parsePostgresUrl(withDatabase(server().url, 'crash_unmarked_restore_20250304050607'));
    const manual = await runProgram(join(server().binDir, 'pg_restore'), ['--no-owner', `--dbname=${scratch.safeUrl}`], {
      input: await store().getStream(snapshot.location as string),
      env: programEnv({ PGPASSWORD: scratch.password }),
    });
    expect(manual.code).toBe(0);

    const restored = await restorer(url).advance(snapshot, created);

    expect(restored.steps.at(-1)?.detail).toMatch(/^discarded an unconfirmed earlier restore \(3 tables\); restored backups\/shop\/snap-crash_unmarked\.dump into crash_unmarked_restore_20250304050607 \(3 tables\)$/);
    await restoreToEnd(restorer(url), snapshot, restored);
    expect(await fingerprint(url)).toEqual(before);
  });

  it('finishes a swap that stopped after new connections were refused', async () => {
    const { url, snapshot, before } = await databaseWithBackup('crash_mid_swap');
    const target = restorer(url);
    const restored = await target.advance(snapshot, await target.advance(snapshot, null));
    await withClient(server().url, (client) => client.query('ALTER DATABASE crash_mid_swap ALLOW_CONNECTIONS false'));

    const swapped = await target.advance(snapshot, restored);

    expect(swapped.failedCopy).toBe('crash_mid_swap_failed_20250304050607');
    expect(await allowsConnections('crash_mid_swap')).toBe(true);
    expect(await allowsConnections('crash_mid_swap_failed_20250304050607')).toBe(true);
    expect(await fingerprint(url)).toEqual(before);
  });
});

describe('PgRestorer swap', () => {
  it('terminates sessions on the live database and reports them', async () => {
    const { url, snapshot } = await databaseWithBackup('busy');
    const target = restorer(url);
    const restored = await target.advance(snapshot, await target.advance(snapshot, null));
    const app = new pg.Client({ connectionString: url });
    await app.connect();
    const appErrors: Error[] = [];
    app.on('error', (error) => appErrors.push(error));

    const swapped = await target.advance(snapshot, restored);

    expect(swapped.steps.at(-1)?.detail).toBe('kept busy as busy_failed_20250304050607, renamed busy_restore_20250304050607 to busy (1 session terminated)');
    await expect(app.query('SELECT 1')).rejects.toThrow();
    expect(appErrors[0]?.message).toBe('terminating connection due to administrator command');
    await app.end().catch(() => undefined);
  });

  it('fails when the failed-copy name is taken, leaving the live database open and untouched', async () => {
    const { url, snapshot, before } = await databaseWithBackup('taken');
    const target = restorer(url);
    const restored = await target.advance(snapshot, await target.advance(snapshot, null));
    await destructiveMigration(url);
    const live = await fingerprint(url);
    await createDatabase(server(), 'taken_failed_20250304050607');

    const attempt = target.advance(snapshot, restored);

    await expect(attempt).rejects.toThrow(RestoreFailedError);
    await expect(attempt).rejects.toThrow('cannot keep taken as taken_failed_20250304050607: a database with that name already exists');
    expect(await allowsConnections('taken')).toBe(true);
    expect(await fingerprint(url)).toEqual(live);
    expect(live).not.toEqual(before);
  });
  it('fails when sessions outlive the drain timeout, and opens the live database again, untouched', async () => {
    const { url, snapshot } = await databaseWithBackup('stubborn');
    const restored = await restorer(url).advance(snapshot, await restorer(url).advance(snapshot, null));
    await destructiveMigration(url);
    const live = await fingerprint(url);
    const app = new pg.Client({ connectionString: url });
    app.on('error', () => undefined);
    await app.connect();

    const attempt = restorer(url, { drainTimeoutMs: 0 }).advance(snapshot, restored);

    await expect(attempt).rejects.toThrow(/^swapping stubborn_restore_20250304050607 into stubborn failed: sessions \d+ on stubborn, stubborn_restore_20250304050607 did not end/);
    await app.end().catch(() => undefined);
    expect(await allowsConnections('stubborn')).toBe(true);
    expect(await fingerprint(url)).toEqual(live);
    expect(await namesLike(/^stubborn_failed_/)).toEqual([]);
  });

  it('puts the restored copy under the name when the live database was dropped meanwhile', async () => {
    const { url, snapshot, before } = await databaseWithBackup('dropped');
    const restored = await restorer(url).advance(snapshot, await restorer(url).advance(snapshot, null));
    await withClient(server().url, (client) => client.query('DROP DATABASE dropped'));

    const swapped = await restorer(url).advance(snapshot, restored);
    const done = await restoreToEnd(restorer(url), snapshot, swapped);

    expect(swapped.steps.at(-1)?.detail).toBe('dropped did not exist; renamed dropped_restore_20250304050607 to dropped');
    expect(done.failedCopy).toBeNull();
    expect(await fingerprint(url)).toEqual(before);
  });
});

describe('PgRestorer checks', () => {
  it('fails when the stored dump changed since it was taken, before restoring anything', async () => {
    const { url, snapshot } = await databaseWithBackup('tampered');
    const created = await restorer(url).advance(snapshot, null);
    const path = store().locate(snapshot.location as string);
    const bytes = await readFile(path);
    bytes[bytes.length - 10] ^= 0xff;
    await writeFile(path, bytes);

    await expect(restorer(url).advance(snapshot, created)).rejects.toThrow(
      /^dump backups\/shop\/snap-tampered\.dump has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}: refusing to restore/,
    );
    expect((await fingerprint(withDatabase(server().url, 'tampered_restore_20250304050607'))).tables).toEqual([]);
  });

  it('fails when the snapshot is not a stored pg_dump', async () => {
    const url = withDatabase(server().url, 'not_a_dump');

    await expect(restorer(url).advance({ ...STORED_DUMP, id: 'snap-rds', kind: 'rds-instance', location: null }, null)).rejects.toThrow(
      'snapshot snap-rds is not a stored pg_dump (kind rds-instance, location null): PgRestorer cannot restore it',
    );
  });

  it('fails when the state says the swap is next but no scratch or restored database exists', async () => {
    const url = await createDatabase(server(), 'vanished');
    const snapshot = { ...STORED_DUMP, id: 'snap-vanished' };
    const state: RestoreState = {
      restored: false, decision: 'restoring', phase: 'swap', failedCopy: null, snapshotId: snapshot.id,
      steps: [], startedAt: '2025-03-04T01:02:03.000Z', finishedAt: null,
    };

    await expect(restorer(url).advance(snapshot, state)).rejects.toThrow(
      'restore of snap-vanished was at phase swap, but neither vanished_restore_20250304010203 nor a restored vanished exists',
    );
  });

  it('fails when the server cannot be reached, as RestoreFailedError and without the password', async () => {
    const url = withDatabase(server().url, 'shop').replace(`:${server().port}/`, ':1/');

    const attempt = restorer(url).advance(STORED_DUMP, null);

    await expect(attempt).rejects.toThrow(RestoreFailedError);
    await expect(attempt).rejects.toThrow(/^restore of snap-x into shop failed: could not connect to postgres:\/\/postgres@127\.0\.0\.1:1\/postgres: .*ECONNREFUSED/);
    await expect(attempt).rejects.not.toThrow(decodeURIComponent(new URL(url).password));
  });

  it('returns a finished restore unchanged', async () => {
    const done: RestoreState = {
      restored: true, decision: 'restored', phase: 'done', failedCopy: 'x_failed_20250304050607', snapshotId: 'snap-x',
      steps: [], startedAt: '2025-03-04T05:06:07.000Z', finishedAt: '2025-03-04T05:07:00.000Z',
    };

    expect(await restorer(withDatabase(server().url, 'postgres')).advance(STORED_DUMP, done)).toBe(done);
  });

  it('restores a database whose name is 63 bytes long, with shortened scratch and failed names', async () => {
    const name = `d${'b'.repeat(62)}`;
    const { url, snapshot, before } = await databaseWithBackup(name);

    const done = await restoreToEnd(restorer(url), snapshot, null);

    expect(await fingerprint(url)).toEqual(before);
    expect(done.failedCopy).toMatch(/^db{31}_[0-9a-f]{8}_failed_20250304050607$/);
    expect(Buffer.byteLength(done.failedCopy as string)).toBe(63);
    expect(done.steps[0].detail).toMatch(/^created scratch database db{30}_[0-9a-f]{8}_restore_20250304050607$/);
    expect(await namesLike(/^db{30,31}_/)).toEqual([done.failedCopy]);
  });
});

const RESTORE_NEXT: Record<string, string> = { restore: 'swap', swap: 'verify', verify: 'done' };

/** A snapshot as PgBackups describes one; for checks that fail before the dump is read. */
const STORED_DUMP = storedDumpOf('snap-x', 'shop', { sizeBytes: 1024, startedAt: '2025-03-04T05:06:07.000Z', completedAt: '2025-03-04T05:06:08.000Z' });
