import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { PostgresDatabase } from '../../../config/schema';
import type { ArtifactStore } from '../../../core/ports/artifact-store';
import type { Clock } from '../../../core/ports/clock';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import type { PostgresDatabaseConfig } from '../../../adapters/local/pg-backups';
import { withClient, withDatabase } from '../../../adapters/local/pg-connection';
import { type PostgresServer, startPostgres } from '../../../local/postgres/server';

/** The rehearsal's database block with its defaults, as the config schema fills them. */
export const POSTGRES_CONFIG: PostgresDatabaseConfig = PostgresDatabase.parse({ kind: 'postgres' });

/** Starts one PostgreSQL for the whole test file and stops it afterwards. */
export function usePostgres(): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('the PostgreSQL server of this test file has not started');
    return server;
  };
}

/** A FileArtifactStore in a fresh directory, removed after the test file. */
export function useStoreRoot(): () => string {
  let root: string | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'pg-store-'));
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });
  return () => {
    if (!root) throw new Error('the store directory has not been created');
    return root;
  };
}

/** Creates a database on the server and returns its URL. */
export async function createDatabase(server: PostgresServer, name: string): Promise<string> {
  await withClient(server.url, (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
  return withDatabase(server.url, name);
}

/** A shop: customers and orders (foreign key, index) and settings, 10,005 rows in all. */
export async function seedShop(url: string, scale = { customers: 2000, orders: 8000 }): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(`
      CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text NOT NULL, created_at timestamptz NOT NULL);
      CREATE TABLE orders (
        id integer PRIMARY KEY,
        customer_id integer NOT NULL REFERENCES customers (id),
        total_cents integer NOT NULL CHECK (total_cents >= 0),
        status text NOT NULL
      );
      CREATE INDEX orders_customer_idx ON orders (customer_id);
      CREATE TABLE settings (id integer PRIMARY KEY, key text NOT NULL, value jsonb NOT NULL);
    `);
    await client.query(
      `INSERT INTO customers SELECT g, 'customer' || g || '@example.com', 'Customer ' || g, timestamptz '2025-01-01' + g * interval '1 minute'
       FROM generate_series(1, $1::int) g`,
      [scale.customers],
    );
    await client.query(
      `INSERT INTO orders SELECT g, 1 + (g * 7) % $2::int, (g * 137) % 50000, (ARRAY['paid', 'shipped', 'refunded'])[1 + g % 3]
       FROM generate_series(1, $1::int) g`,
      [scale.orders, scale.customers],
    );
    await client.query(`INSERT INTO settings VALUES (1, 'currency', '"EUR"'), (2, 'tax', '{"rate": 0.21}'), (3, 'theme', '"dark"'), (4, 'beta', 'false'), (5, 'limit', '100')`);
  });
}

/** What a bad release's migration does: drops a column, deletes rows, adds a table. */
export async function destructiveMigration(url: string): Promise<void> {
  await withClient(url, (client) =>
    client.query(`
      ALTER TABLE customers DROP COLUMN email;
      DELETE FROM orders WHERE status = 'refunded';
      CREATE TABLE audit_log (id integer PRIMARY KEY, entry text NOT NULL);
      INSERT INTO audit_log VALUES (1, 'migrated to v2');
    `),
  );
}

/** Tables, row counts and an md5 of every table's rows in primary-key order: equal fingerprints, equal data. */
export interface Fingerprint {
  readonly tables: string[];
  readonly rows: Record<string, number>;
  readonly md5: Record<string, string>;
}

export async function fingerprint(url: string): Promise<Fingerprint> {
  return withClient(url, async (client) => {
    const { rows: tables } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    );
    const result: Fingerprint = { tables: tables.map((t) => t.name), rows: {}, md5: {} };
    for (const { name } of tables) {
      const table = pg.escapeIdentifier(name);
      const { rows } = await client.query<{ n: string; md5: string }>(`SELECT count(*)::text AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS md5 FROM ${table} t`);
      result.rows[name] = Number(rows[0].n);
      result.md5[name] = rows[0].md5;
    }
    return result;
  });
}

/** Names of the server's databases, sorted. */
export async function databaseNames(server: PostgresServer): Promise<string[]> {
  return withClient(server.url, async (client) => (await client.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).rows.map((r) => r.datname));
}

/** A clock that moves one second per reading, so every timestamp is distinct and predictable. */
export function tickingClock(start = '2025-03-04T05:06:07.000Z'): Clock {
  let next = Date.parse(start);
  return {
    now: () => {
      const at = new Date(next);
      next += 1000;
      return at;
    },
  };
}

/** A store that counts how often each key is streamed out: a second restore would read the dump again. */
export class CountingStore implements ArtifactStore {
  readonly reads = new Map<string, number>();

  constructor(readonly inner: FileArtifactStore) {}

  get: ArtifactStore['get'] = (key) => this.inner.get(key);
  put: ArtifactStore['put'] = (key, body, options) => this.inner.put(key, body, options);
  putStream: ArtifactStore['putStream'] = (key, body) => this.inner.putStream(key, body);
  locate: ArtifactStore['locate'] = (key) => this.inner.locate(key);

  getStream(key: string): Promise<Readable> {
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    return this.inner.getStream(key);
  }
}
