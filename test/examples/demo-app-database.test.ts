import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDatabase } from '../../adapters/local/pg-connection';
import { type PostgresServer, startPostgres } from '../../local/postgres/server';
import { DEMO_MIGRATE, type DemoApp, REPO_ROOT, startDemoApp } from './demo-app-process';

const run = promisify(execFile);
let server: PostgresServer;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.stop();
});

/** A fresh database per test, so that the migrations start from nothing. */
async function freshDatabase(): Promise<string> {
  const name = `demo_${++databases}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return withDatabase(server.url, name);
}

async function migrate(url: string, version: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [DEMO_MIGRATE, version], { env: { PATH: process.env.PATH, DATABASE_URL: url } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('demo app migrations (migrate.mjs)', () => {
  it('applies v1 then v2 in order, records them, and is a no-op when run again', async () => {
    const url = await freshDatabase();

    expect(await migrate(url, 'v2')).toMatchObject({ code: 0, stdout: 'applied v1\napplied v2\n' });
    expect(await migrate(url, 'v2')).toMatchObject({ code: 0, stdout: 'database already at v2\n' });

    expect((await query<{ version: string }>(url, 'SELECT version FROM schema_migrations ORDER BY applied_at, version')).map((r) => r.version)).toEqual(['v1', 'v2']);
    const items = await query<{ price_cents: number }>(url, 'SELECT price_cents FROM items ORDER BY id');
    expect(items).toEqual([{ price_cents: 0 }, { price_cents: 0 }, { price_cents: 0 }, { price_cents: 0 }]);
  });

  it('applies nothing for a version without a migration file', async () => {
    const url = await freshDatabase();
    expect(await migrate(url, 'v1.0.1')).toMatchObject({ code: 0, stdout: 'no migration for v1.0.1 (known: v1, v2, v2-backfill-incomplete, v3-broken)\n' });
    expect(await query(url, "SELECT 1 FROM pg_tables WHERE tablename = 'schema_migrations'")).toEqual([]);
  });

  it('fails when v3-broken runs, after committing a dropped column and deleted rows that only a restore brings back', async () => {
    const url = await freshDatabase();
    await migrate(url, 'v2');

    const broken = await migrate(url, 'v3-broken');

    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe('migrate: migration v3-broken failed: relation "item_prices" does not exist\n');
    expect(await query(url, 'SELECT id, name FROM items ORDER BY id')).toEqual([
      { id: 1, name: 'first item' },
      { id: 3, name: 'third item' },
    ]);
    expect(await query(url, "SELECT 1 FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'price_cents'")).toEqual([]);
    expect((await query<{ version: string }>(url, 'SELECT version FROM schema_migrations')).map((r) => r.version).sort()).toEqual(['v1', 'v2']);
  });

  it('fails when DATABASE_URL is not set, naming it (exit 2)', async () => {
    const result = await run(process.execPath, [DEMO_MIGRATE, 'v1'], { env: { PATH: process.env.PATH } }).catch((error) => error);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('migrate: DATABASE_URL is not set\n');
  });
});

describe('demo app with a database', () => {
  let app: DemoApp;
  let url: string;

  beforeAll(async () => {
    url = await freshDatabase();
    await migrate(url, 'v2');
    app = await startDemoApp({ DATABASE_URL: url, DEMO_SMOKE_PASSWORD: 'pw-for-tests' });
  });

  afterAll(async () => {
    await app?.stop();
  });

  it('reports the database connected with its latency', async () => {
    const body = await (await fetch(`${app.url}/api/health/db`)).json();
    expect(body).toEqual({ database: 'connected', latency_ms: expect.any(Number) });
  });

  it('creates and lists items, and refuses an item without a name', async () => {
    const created = await fetch(`${app.url}/api/items`, { method: 'POST', body: JSON.stringify({ name: 'fifth item' }) });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ item: { id: 5, name: 'fifth item', price_cents: 0 } });

    const list = (await (await fetch(`${app.url}/api/items`)).json()) as { items: { name: string }[] };
    expect(list.items.map((item) => item.name)).toEqual(['first item', 'second item', 'third item', 'fourth item', 'fifth item']);
    expect((await fetch(`${app.url}/api/items`, { method: 'POST', body: JSON.stringify({ name: '' }) })).status).toBe(400);
  });

  it('reads the profile of the logged-in user from the users table', async () => {
    const login = await fetch(`${app.url}/api/auth/login`, { method: 'POST', body: JSON.stringify({ email: 'smoke-test@example.com', password: 'pw-for-tests' }) });
    const { token } = (await login.json()) as { token: string };
    const profile = await fetch(`${app.url}/api/users/me`, { headers: { Authorization: `Bearer ${token}` } });
    expect(await profile.json()).toMatchObject({ id: 1, email: 'smoke-test@example.com' });
  });

  it('sends steady traffic with traffic.mjs, which the metrics count', async () => {
    const { stdout } = await run(process.execPath, [resolve(REPO_ROOT, 'examples/demo-app/traffic.mjs'), app.url, '--rps', '100', '--count', '12']);
    expect(stdout).toBe(`traffic: 12 requests to ${app.url}/api/items: 200×12\n`);
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/^http_requests_total\{method="GET",route="\/api\/items",status="200"\} 13$/m);
  });
});
