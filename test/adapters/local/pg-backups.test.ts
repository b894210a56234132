import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SnapshotFailedError } from '../../../core/errors';
import type { DatabaseInfo } from '../../../core/model';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import { LISTED_HEAD_BYTES, PgBackups, type PgBackupsOptions } from '../../../adapters/local/pg-backups';
import { withClient, withDatabase } from '../../../adapters/local/pg-connection';
import { createDatabase, POSTGRES_CONFIG, seedShop, tickingClock, usePostgres, useStoreRoot } from '../../local/postgres/fixtures';

const server = usePostgres();
const storeRoot = useStoreRoot();
let shopUrl: string;
let shop: DatabaseInfo;

function backups(overrides: Partial<PgBackupsOptions> = {}): PgBackups {
  return new PgBackups(POSTGRES_CONFIG, {
    url: shopUrl,
    target: 'shop',
    store: new FileArtifactStore(storeRoot()),
    clock: tickingClock(),
    binDir: server().binDir,
    ...overrides,
  });
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const passwordOf = (url: string) => decodeURIComponent(new URL(url).password);

beforeAll(async () => {
  shopUrl = await createDatabase(server(), 'shop');
  await seedShop(shopUrl);
  shop = await backups().describe();
});

describe('PgBackups.describe', () => {
  it('reports the database name, server version and size', async () => {
    const expected = await withClient(shopUrl, async (client) => {
      const { rows } = await client.query<{ version: string; size: string }>("SELECT current_setting('server_version') AS version, pg_database_size('shop')::text AS size");
      return rows[0];
    });

    expect(shop).toEqual({
      kind: 'postgres',
      identifier: 'shop',
      arn: null,
      engine: 'postgres',
      engineVersion: expected.version,
      status: 'available',
      encrypted: null,
      sizeBytes: Number(expected.size),
    });
    expect(shop.engineVersion).toMatch(/^\d+\.\d+/);
  });

  it('fails when the server cannot be reached, naming it without the password', async () => {
    const url = withDatabase(server().url, 'shop').replace(`:${server().port}/`, ':1/');

    const attempt = backups({ url }).describe();

    await expect(attempt).rejects.toThrow(/^could not connect to postgres:\/\/postgres@127\.0\.0\.1:1\/shop: .*ECONNREFUSED/);
    await expect(attempt).rejects.not.toThrow(passwordOf(url));
  });
});

describe('PgBackups.create', () => {
  it('streams pg_dump -Fc into the store and records its size and sha256 beside it', async () => {
    const store = new FileArtifactStore(storeRoot());

    const snapshot = await backups().create('deploy-runbook-shop-v2-1a2b3c4d', { 'deploy-runbook:version': 'v2' });

    const dump = await readFile(store.locate('backups/shop/deploy-runbook-shop-v2-1a2b3c4d.dump'));
    expect(dump.subarray(0, 5).toString()).toBe('PGDMP');
    expect(snapshot).toEqual({
      id: 'deploy-runbook-shop-v2-1a2b3c4d',
      arn: null,
      kind: 'postgres',
      source: 'shop',
      status: 'available',
      engine: 'postgres',
      encrypted: null,
      sizeBytes: dump.length,
      location: 'backups/shop/deploy-runbook-shop-v2-1a2b3c4d.dump',
      checksum: sha256(dump),
      startedAt: '2025-03-04T05:06:07.000Z',
      completedAt: '2025-03-04T05:06:08.000Z',
      verification: [],
    });
    const meta = JSON.parse((await readFile(store.locate('backups/shop/deploy-runbook-shop-v2-1a2b3c4d.meta.json'))).toString());
    expect(meta).toEqual({
      snapshotId: 'deploy-runbook-shop-v2-1a2b3c4d',
      status: 'available',
      source: 'shop',
      bytes: dump.length,
      sha256: sha256(dump),
      startedAt: '2025-03-04T05:06:07.000Z',
      completedAt: '2025-03-04T05:06:08.000Z',
      tags: { 'deploy-runbook:version': 'v2' },
      error: null,
      verification: [`sha256 computed while streaming ${dump.length} bytes`, 'pg_restore --list of the dump before the store committed it: 12 entries, 3 tables, 3 with data'],
    });
  });

  it('never stores a dump whose table of contents pg_restore cannot read: the listing runs before the commit', async () => {
    const fakeBin = await mkdtemp(join(tmpdir(), 'fake-pg-unreadable-'));
    try {
      const store = new FileArtifactStore(fakeBin);
      await writeFile(join(fakeBin, 'pg_dump'), `#!/bin/sh\nprintf 'PGDMP garbage'\n`);
      await writeFile(join(fakeBin, 'pg_restore'), `#!/bin/sh\ncat > /dev/null\necho 'pg_restore: error: unsupported version (9.9) in file header' >&2\nexit 1\n`);
      await Promise.all(['pg_dump', 'pg_restore'].map((program) => chmod(join(fakeBin, program), 0o755)));

      const attempt = backups({ binDir: fakeBin, store }).create('snap-unreadable', {});

      await expect(attempt).rejects.toThrow(`pg_restore --list could not read dump ${store.locate('backups/shop/snap-unreadable.dump')}: pg_restore: error: unsupported version (9.9) in file header`);
      await expect(readFile(store.locate('backups/shop/snap-unreadable.dump'))).rejects.toMatchObject({ code: 'ENOENT' });
      expect(JSON.parse((await readFile(store.locate('backups/shop/snap-unreadable.meta.json'))).toString())).toMatchObject({ status: 'failed' });
    } finally {
      await rm(fakeBin, { recursive: true, force: true });
    }
  });

  it('lists the stored dump instead when its table of contents reaches beyond the head kept while streaming', async () => {
    const fakeBin = await mkdtemp(join(tmpdir(), 'fake-pg-large-toc-'));
    try {
      const store = new FileArtifactStore(fakeBin);
      const calls = join(fakeBin, 'calls.txt');
      await writeFile(join(fakeBin, 'pg_dump'), `#!/bin/sh\nhead -c ${LISTED_HEAD_BYTES + 4096} /dev/zero\n`);
      // This pg_restore needs more than the kept head to read its table of contents.
      await writeFile(
        join(fakeBin, 'pg_restore'),
        `#!/bin/sh\nn=$(wc -c)\necho "$n" >> ${calls}\n[ "$n" -gt ${LISTED_HEAD_BYTES} ] || { echo 'pg_restore: error: could not read from input file: end of file' >&2; exit 1; }\necho '3; 1259 16390 TABLE DATA public orders postgres'\n`,
      );
      await Promise.all(['pg_dump', 'pg_restore'].map((program) => chmod(join(fakeBin, program), 0o755)));

      const snapshot = await backups({ binDir: fakeBin, store }).create('snap-large-toc', {});

      expect(snapshot.status).toBe('available');
      expect((await readFile(calls, 'utf8')).trim().split('\n').map(Number)).toEqual([LISTED_HEAD_BYTES, LISTED_HEAD_BYTES + 4096]);
      const meta = JSON.parse((await readFile(store.locate('backups/shop/snap-large-toc.meta.json'))).toString());
      expect(meta.verification).toEqual([`sha256 computed while streaming ${LISTED_HEAD_BYTES + 4096} bytes`, 'pg_restore --list of the stored dump: 1 entries, 0 tables, 1 with data']);
    } finally {
      await rm(fakeBin, { recursive: true, force: true });
    }
  });

  it('returns an available snapshot as it is instead of dumping again', async () => {
    const store = new FileArtifactStore(storeRoot());
    const first = await backups().create('snap-once', {});
    const dumpBefore = await readFile(store.locate('backups/shop/snap-once.dump'));

    const again = await backups({ clock: tickingClock('2030-01-01T00:00:00.000Z') }).create('snap-once', {});

    expect(again).toEqual(first);
    expect(await readFile(store.locate('backups/shop/snap-once.dump'))).toEqual(dumpBefore);
  });

  it('reports a dump whose process died as creating, and dumps it again on create', async () => {
    const store = new FileArtifactStore(storeRoot());
    // What a crash mid-dump leaves: the `creating` meta and part of a dump.
    await store.put('backups/shop/snap-crashed.meta.json', JSON.stringify({
      snapshotId: 'snap-crashed', status: 'creating', source: 'shop', bytes: null, sha256: null,
      startedAt: '2025-03-04T04:00:00.000Z', completedAt: null, tags: {}, error: null,
    }));
    await store.put('backups/shop/snap-crashed.dump', 'PGDMP-half-written');

    const found = await backups().find('snap-crashed');
    const redone = await backups().create('snap-crashed', {});

    expect(found).toMatchObject({ id: 'snap-crashed', status: 'creating', checksum: null, sizeBytes: null, completedAt: null });
    const dump = await readFile(store.locate('backups/shop/snap-crashed.dump'));
    expect(redone).toMatchObject({ status: 'available', checksum: sha256(dump), sizeBytes: dump.length });
    expect(await backups().verify(redone, shop)).toEqual(['sha256 matches', 'pg_restore --list: 12 entries, 3 tables']);
  });

  it('passes the password to pg_dump in PGPASSWORD only, never on its command line', async () => {
    const fakeBin = await mkdtemp(join(tmpdir(), 'fake-pg-dump-'));
    try {
      const record = join(fakeBin, 'record.txt');
      await writeFile(join(fakeBin, 'pg_dump'), `#!/bin/sh\nprintf '%s\\n' "$@" > ${record}\necho "PGPASSWORD=$PGPASSWORD" >> ${record}\nprintf 'PGDMP'\n`);
      await chmod(join(fakeBin, 'pg_dump'), 0o755);
      // The stored dump is listed before it is marked available: this pg_restore reads it and lists nothing.
      await writeFile(join(fakeBin, 'pg_restore'), `#!/bin/sh\ncat > /dev/null\necho ';'\n`);
      await chmod(join(fakeBin, 'pg_restore'), 0o755);

      await backups({ binDir: fakeBin, store: new FileArtifactStore(fakeBin) }).create('snap-args', {});

      const [args, env] = (await readFile(record, 'utf8')).split('PGPASSWORD=');
      expect(args.trim().split('\n')).toEqual(['--format=custom', '--no-password', '--lock-wait-timeout=120000', `--dbname=postgres://postgres@127.0.0.1:${server().port}/shop`]);
      expect(env.trim()).toBe(passwordOf(shopUrl));
    } finally {
      await rm(fakeBin, { recursive: true, force: true });
    }
  });

  it('fails when pg_dump fails (no such database), with its stderr and without the password', async () => {
    const store = new FileArtifactStore(storeRoot());
    const url = withDatabase(server().url, 'no_such_db');

    const attempt = backups({ url, store }).create('snap-bad-db', {});

    await expect(attempt).rejects.toThrow(SnapshotFailedError);
    const error = (await attempt.catch((e: unknown) => e)) as Error;
    expect(error.message).toMatch(/^pg_dump of database "no_such_db" exited with 1: .*database "no_such_db" does not exist/s);
    expect(error.message).not.toContain(passwordOf(url));
    const meta = JSON.parse((await readFile(store.locate('backups/shop/snap-bad-db.meta.json'))).toString());
    expect(meta).toMatchObject({ status: 'failed', error: error.message });
    expect(await backups({ url, store }).find('snap-bad-db')).toMatchObject({ status: 'failed' });
    // What pg_dump wrote before it failed is not stored: only the failed meta tells of the attempt.
    await expect(readFile(store.locate('backups/shop/snap-bad-db.dump'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails when pg_dump cannot be run, naming the program', async () => {
    const attempt = backups({ binDir: '/nonexistent/bin' }).create('snap-no-binary', {});

    await expect(attempt).rejects.toThrow(/^could not run pg_dump \(\/nonexistent\/bin\): .*ENOENT/);
  });

  it('fails when the snapshot id cannot name a file', async () => {
    await expect(backups().create('../escape', {})).rejects.toThrow('snapshot id "../escape" cannot name a dump file');
  });
});

describe('PgBackups.find and quota', () => {
  it('finds nothing for an id never created', async () => {
    expect(await backups().find('never-created')).toBeUndefined();
  });

  it('finds a created snapshot exactly as create returned it', async () => {
    const created = await backups().create('snap-findable', {});

    expect(await backups().find('snap-findable')).toEqual(created);
  });

  it('fails when the meta beside a dump is damaged, naming it and the field', async () => {
    const store = new FileArtifactStore(storeRoot());
    await store.put('backups/shop/snap-bad-meta.meta.json', '{"snapshotId": "snap-bad-meta", "status": "done"');
    await store.put('backups/shop/snap-odd-meta.meta.json', JSON.stringify({ snapshotId: 'snap-odd-meta', status: 'done' }));

    await expect(backups().find('snap-bad-meta')).rejects.toThrow(/^backup meta backups\/shop\/snap-bad-meta\.meta\.json is not JSON: /);
    await expect(backups().find('snap-odd-meta')).rejects.toThrow(/^backup meta backups\/shop\/snap-odd-meta\.meta\.json is not readable: status: /);
  });

  it('has no snapshot quota', async () => {
    expect(await backups().quota()).toBeNull();
  });
});

describe('PgBackups.verify', () => {
  it('checks the sha256 and lists the dump with pg_restore', async () => {
    const snapshot = await backups().create('snap-verify', {});

    // 3 tables, their 3 data entries, 3 primary keys, the unique email, the index and the foreign key.
    expect(await backups().verify(snapshot, shop)).toEqual(['sha256 matches', 'pg_restore --list: 12 entries, 3 tables']);
  });

  it('fails when bytes of the stored dump were changed', async () => {
    const store = new FileArtifactStore(storeRoot());
    const snapshot = await backups().create('snap-corrupt', {});
    const path = store.locate('backups/shop/snap-corrupt.dump');
    const bytes = await readFile(path);
    for (const offset of [bytes.length >> 1, (bytes.length >> 1) + 1]) bytes[offset] ^= 0xff;
    await writeFile(path, bytes);

    const attempt = backups().verify(snapshot, shop);

    await expect(attempt).rejects.toThrow(SnapshotFailedError);
    await expect(attempt).rejects.toThrow(`dump backups/shop/snap-corrupt.dump has sha256 ${sha256(bytes)}, expected ${snapshot.checksum}`);
  });

  it('fails when the dump holds no table data', async () => {
    const emptyUrl = await createDatabase(server(), 'empty');
    const empty = backups({ url: emptyUrl });
    const snapshot = await empty.create('snap-empty', {});

    await expect(empty.verify(snapshot, await empty.describe())).rejects.toThrow('dump backups/shop/snap-empty.dump holds no table data (pg_restore --list: 0 entries, 0 tables)');
  });

  it('fails when the snapshot is of another database', async () => {
    const snapshot = await backups().create('snap-other', {});

    await expect(backups().verify(snapshot, { ...shop, identifier: 'billing' })).rejects.toThrow('snapshot snap-other is a dump of database "shop", not of "billing"');
  });

  it('fails when the snapshot is not a stored dump', async () => {
    const snapshot = await backups().create('snap-rds', {});

    await expect(backups().verify({ ...snapshot, kind: 'rds-instance', location: null }, shop)).rejects.toThrow(
      'snapshot snap-rds is not a stored pg_dump (kind rds-instance, location null',
    );
  });
});
