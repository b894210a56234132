#!/usr/bin/env node
// Brings the demo database to a version: `node migrate.mjs <version>` applies migrations/<v>.sql in order.
import { readdir, readFile } from 'node:fs/promises';
import pg from 'pg';

const MIGRATIONS = new URL('./migrations/', import.meta.url);
/** A first-line marker for statements that must not share a transaction (each one commits). */
const NO_TRANSACTION = /^--\s*migrate:no-transaction\s*$/m;
/** Two runners never migrate the same database at once. */
const ADVISORY_LOCK = 4_780_001;

const version = process.argv[2];
if (!version) fail(2, 'usage: node migrate.mjs <version>');
if (!process.env.DATABASE_URL) fail(2, 'DATABASE_URL is not set');

const known = (await readdir(MIGRATIONS))
  .filter((file) => file.endsWith('.sql'))
  .map((file) => file.slice(0, -'.sql'.length))
  .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));

if (!known.includes(version)) {
  // A version without a schema change: nothing to apply.
  console.log(`no migration for ${version} (known: ${known.join(', ')})`);
  process.exit(0);
}

const client = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 10_000 });
let current = null;
try {
  await client.connect();
  await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK]);
  await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  const applied = new Set((await client.query('SELECT version FROM schema_migrations')).rows.map((row) => row.version));
  // A suffixed version (v3-broken, v2-backfill-incomplete) is a variant of its release: applied only when asked for.
  const pending = known.slice(0, known.indexOf(version) + 1).filter((name) => (name === version || !name.includes('-')) && !applied.has(name));
  if (pending.length === 0) console.log(`database already at ${version}`);
  for (const name of pending) {
    current = name;
    await apply(name);
    console.log(`applied ${name}`);
  }
} catch (error) {
  await client.end().catch(() => undefined);
  fail(1, current ? `migration ${current} failed: ${error.message}` : `cannot migrate to ${version}: ${error.message}`);
}
await client.end();

async function apply(name) {
  const sql = await readFile(new URL(`${name}.sql`, MIGRATIONS), 'utf8');
  const record = () => client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [name]);
  if (NO_TRANSACTION.test(sql)) {
    for (const statement of statements(sql)) await client.query(statement);
    await record();
    return;
  }
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await record();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** Splits on a `;` that ends a line: enough for these files, which keep one statement per paragraph. */
function statements(sql) {
  return sql
    .split(/;\s*$/m)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}

function fail(code, message) {
  console.error(`migrate: ${message}`);
  process.exit(code);
}
