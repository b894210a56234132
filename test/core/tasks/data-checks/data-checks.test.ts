import { describe, expect, it } from 'vitest';
import { withClient } from '../../../../adapters/local/pg-connection';
import { PgInspector } from '../../../../adapters/pg-inspector';
import { RunbookConfig } from '../../../../config/schema';
import type { DataFingerprint } from '../../../../core/data-fingerprint';
import { DatabaseUnreachableError } from '../../../../core/ports/database-inspector';
import { type DataCheckReport, DataChecksEvent, runDataChecks } from '../../../../core/tasks/data-checks/data-checks';
import { createDatabase, tickingClock, usePostgres } from '../../../local/postgres/fixtures';

const server = usePostgres();

const SCHEMA = `
  CREATE TABLE messages (id integer PRIMARY KEY, body text NOT NULL, replied_to boolean);
  CREATE INDEX messages_replied_idx ON messages (replied_to);
  CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL);
  INSERT INTO messages SELECT g, 'message ' || g, g % 2 = 0 FROM generate_series(1, 40) g;
  INSERT INTO settings VALUES ('currency', 'EUR'), ('theme', 'dark');`;

async function database(name: string): Promise<{ url: string; inspector: PgInspector }> {
  const url = await createDatabase(server(), name);
  await withClient(url, (client) => client.query(SCHEMA));
  return { url, inspector: new PgInspector({ connectionString: url }, `postgres://127.0.0.1/${name}`) };
}

function event(
  operation: 'check' | 'fingerprint' | 'verify-restore',
  phase: 'preflight' | 'after-migrations' | 'after-restore' | 'gate',
  config: object,
  fingerprint: DataFingerprint | null = null,
  names: string[] | null = null,
) {
  const parsed = RunbookConfig.parse({
    name: 'shop-api',
    target: { kind: 'process', command: ['node', 'server.mjs'], port: 47800 },
    database: { kind: 'postgres', restoreApproval: { required: false } },
    smokeTests: { baseUrl: 'http://127.0.0.1:47800', checks: [{ name: 'health', path: '/health' }] },
    alarms: { kind: 'cloudwatch' },
    ...config,
  });
  return DataChecksEvent.parse({ operation, phase, config: { database: parsed.database, checks: parsed.checks, backup: parsed.backup }, fingerprint, names });
}

const CHECKS = [
  { name: 'no unreplied messages', sql: 'SELECT count(*) FROM messages WHERE replied_to IS NULL', expect: { equals: 0 }, when: ['after-migrations'] },
  { name: 'enough messages', sql: 'SELECT count(*) FROM messages', expect: { atLeast: 40 }, when: ['preflight', 'after-restore'] },
  { name: 'reply index exists', sql: "SELECT 1 FROM pg_indexes WHERE indexname = 'messages_replied_idx'", expect: { exists: true }, when: ['after-migrations'] },
  { name: 'replied_to column exists', sql: "SELECT 1 FROM information_schema.columns WHERE table_name = 'messages' AND column_name = 'replied_to'", expect: { exists: true }, when: ['after-migrations'] },
];

describe('runDataChecks against PostgreSQL', () => {
  it('runs the checks of the phase only, each judged on the first value of the first row, and passes', async () => {
    const { inspector } = await database('checks_pass');
    const report = (await runDataChecks(event('check', 'after-migrations', { checks: { sql: CHECKS } }), { inspector, clock: tickingClock() })) as DataCheckReport;

    expect(report.results.map((r) => [r.name, r.passed, r.value, r.expected])).toEqual([
      ['no unreplied messages', true, '0', '= 0'],
      ['reply index exists', true, 1, 'a row'],
      ['replied_to column exists', true, 1, 'a row'],
    ]);
    expect(report).toMatchObject({ phase: 'after-migrations', passed: true, summary: '3 SQL checks passed (after-migrations)', comparison: null });
  });

  it('fails a backfill that left NULLs, naming the check, what it returned and what was expected', async () => {
    const { url, inspector } = await database('checks_backfill');
    await withClient(url, (client) => client.query('UPDATE messages SET replied_to = NULL WHERE id <= 12'));

    const report = (await runDataChecks(event('check', 'after-migrations', { checks: { sql: CHECKS } }), { inspector, clock: tickingClock() })) as DataCheckReport;

    expect(report.passed).toBe(false);
    expect(report.results[0]).toMatchObject({ name: 'no unreplied messages', passed: false, value: '12', reason: 'returned "12", expected 0' });
    expect(report.summary).toBe(`1 of 3 SQL checks failed (after-migrations): 'no unreplied messages' returned "12", expected 0`);
  });

  it("runs a release plan gate's checks by name, in its order and whatever their phase, and fails on the one not met", async () => {
    const { url, inspector } = await database('checks_gate');
    await withClient(url, (client) => client.query('UPDATE messages SET replied_to = NULL WHERE id = 7'));
    const gate = event('check', 'gate', { checks: { sql: CHECKS } }, null, ['enough messages', 'no unreplied messages']);

    const report = (await runDataChecks(gate, { inspector, clock: tickingClock() })) as DataCheckReport;

    expect(report.results.map((r) => [r.name, r.passed, r.value])).toEqual([
      ['enough messages', true, '40'],
      ['no unreplied messages', false, '1'],
    ]);
    expect(report).toMatchObject({ phase: 'gate', passed: false, summary: "1 of 2 SQL checks failed (gate): 'no unreplied messages' returned \"1\", expected 0" });
  });

  it('fails when a gate names no check or one that is not configured, rather than passing on nothing', async () => {
    const { inspector } = await database('checks_gate_unknown');
    await expect(runDataChecks(event('check', 'gate', { checks: { sql: CHECKS } }, null, ['backfill done']), { inspector, clock: tickingClock() })).rejects.toThrow(
      "gate: 'backfill done' is not one of checks.sql (no unreplied messages, enough messages, reply index exists, replied_to column exists)",
    );
    await expect(runDataChecks(event('check', 'gate', { checks: { sql: CHECKS } }), { inspector, clock: tickingClock() })).rejects.toThrow('gate: no SQL check named');
  });

  it('refuses a check that writes with the database’s read-only error, and the write never happens — a COMMIT first cannot escape the transaction', async () => {
    const { url, inspector } = await database('checks_write');
    const writing = [
      { name: 'sneaky update', sql: "UPDATE settings SET value = 'USD' WHERE key = 'currency' RETURNING 1", expect: { exists: true }, when: ['preflight'] },
      { name: 'commit then delete', sql: 'COMMIT; DELETE FROM messages', expect: { exists: false }, when: ['preflight'] },
    ];

    const report = (await runDataChecks(event('check', 'preflight', { checks: { sql: writing } }), { inspector, clock: tickingClock() })) as DataCheckReport;

    expect(report.passed).toBe(false);
    expect(report.results[0].reason).toBe(
      'writes, which a SQL check may not: the database refused it in the read-only transaction (SQLSTATE 25006 read_only_sql_transaction: cannot execute UPDATE in a read-only transaction)',
    );
    expect(report.results[1].reason).toMatch(/^failed: cannot insert multiple commands into a prepared statement \(SQLSTATE 42601\)$/);
    await withClient(url, async (client) => {
      expect((await client.query("SELECT value FROM settings WHERE key = 'currency'")).rows).toEqual([{ value: 'EUR' }]);
      expect((await client.query('SELECT count(*)::int AS n FROM messages')).rows).toEqual([{ n: 40 }]);
    });
  });

  it('names the check that timed out and the limit', async () => {
    const { inspector } = await database('checks_timeout');
    const slow = [{ name: 'slow scan', sql: 'SELECT pg_sleep(3)', expect: { exists: true }, when: ['preflight'] }];

    const report = (await runDataChecks(event('check', 'preflight', { checks: { sql: slow, statementTimeoutSeconds: 1 } }), { inspector, clock: tickingClock() })) as DataCheckReport;

    expect(report.summary).toBe(
      "1 of 1 SQL checks failed (preflight): 'slow scan' timed out after 1 s (checks.statementTimeoutSeconds; SQLSTATE 57014: canceling statement due to statement timeout)",
    );
  });

  it('records a fingerprint and, after a restore, names each table that differs', async () => {
    const { url, inspector } = await database('checks_fingerprint');
    const config = { checks: { sql: CHECKS }, backup: { fingerprint: { checksumTables: ['settings'] } } };
    const fingerprint = (await runDataChecks(event('fingerprint', 'preflight', config), { inspector, clock: tickingClock() })) as DataFingerprint;
    expect(fingerprint.tables.messages).toEqual({ rows: 40, md5: null });
    expect(fingerprint.tables.settings.md5).toMatch(/^[0-9a-f]{32}$/);

    const same = (await runDataChecks(event('verify-restore', 'after-restore', config, fingerprint), { inspector, clock: tickingClock() })) as DataCheckReport;
    expect(same).toMatchObject({ phase: 'after-restore', passed: true, comparison: { identical: true, differences: [], tables: 2 } });
    expect(same.results.map((r) => r.name)).toEqual(['enough messages']);

    await withClient(url, (client) => client.query("DELETE FROM messages WHERE id > 30; UPDATE settings SET value = 'light' WHERE key = 'theme'"));
    const differs = (await runDataChecks(event('verify-restore', 'after-restore', config, fingerprint), { inspector, clock: tickingClock() })) as DataCheckReport;
    expect(differs.passed).toBe(false);
    expect(differs.comparison?.differences).toEqual(['messages: 40 → 30 rows', 'settings: values changed']);
    expect(differs.summary).toBe(
      "1 of 1 SQL checks failed (after-restore): 'enough messages' returned \"30\", expected at least 40; the restored data differs from the fingerprint recorded before the backup: messages: 40 → 30 rows; settings: values changed",
    );
  });

  it("checks an RDS drill's copy at its own endpoint (host), not the live database", async () => {
    const live = await database('checks_rds_live');
    const copy = await database('checks_rds_copy');
    await withClient(copy.url, (client) => client.query('DELETE FROM messages WHERE id > 35'));
    const config = { checks: { sql: CHECKS } };
    const fingerprint = (await runDataChecks(event('fingerprint', 'preflight', config), { inspector: live.inspector, clock: tickingClock() })) as DataFingerprint;
    const scratch = 'shop-db-drill-20250314090000';
    const host = `${scratch}.c9akciq32.eu-west-1.rds.amazonaws.com`;
    const asked: string[] = [];
    const inspectorAt = (at: string) => (asked.push(at), copy.inspector);

    const report = (await runDataChecks({ ...event('verify-restore', 'after-restore', config, fingerprint), database: scratch, host }, { inspector: live.inspector, inspectorAt, clock: tickingClock() })) as DataCheckReport;
    expect(asked).toEqual([host]);
    expect(report.comparison?.differences).toEqual(['messages: 40 → 35 rows']);
  });

  it.each([
    ['the live instance\'s endpoint', 'shop-db-drill-20250314090000', 'shop-db.c9akciq32.eu-west-1.rds.amazonaws.com'],
    ['a name that is not an RDS drill copy', 'shop-db', 'shop-db.c9akciq32.eu-west-1.rds.amazonaws.com'],
    ['a host that only starts like the copy', 'shop-db-drill-20250314090000', 'shop-db-drill-20250314090000x.example.com'],
  ])('fails when a drill check names %s, connecting nowhere', async (_what, database, host) => {
    const asked: string[] = [];
    const inspectorAt = (at: string) => (asked.push(at), new PgInspector({}, 'never'));
    const checking = runDataChecks({ ...event('verify-restore', 'after-restore', { checks: { sql: CHECKS } }), database, host }, { inspector: new PgInspector({}, 'live'), inspectorAt, clock: tickingClock() });
    await expect(checking).rejects.toThrow(`host: only verify-restore of an RDS or Aurora drill's copy (<identifier>-drill-<yyyymmddhhmmss>) connects elsewhere, and only to that copy's endpoint (got verify-restore of "${database}" at "${host}")`);
    expect(asked).toEqual([]);
  });

  it('fails as a whole, naming the database and never the password, when the database cannot be reached', async () => {
    const inspector = new PgInspector({ host: '127.0.0.1', port: 1, user: 'app', password: 'pa55-w0rd-secret', database: 'shop', connectionTimeoutMillis: 2000 }, 'postgres://app@127.0.0.1:1/shop');
    const run = runDataChecks(event('check', 'preflight', { checks: { sql: CHECKS } }), { inspector, clock: tickingClock() });
    await expect(run).rejects.toThrow(DatabaseUnreachableError);
    await expect(run).rejects.toThrow(/^could not connect to postgres:\/\/app@127\.0\.0\.1:1\/shop: /);
    await expect(run).rejects.not.toThrow(/pa55-w0rd-secret/);
  });

  it('passes a phase without checks without connecting, and records no fingerprint without a way to the database', async () => {
    const checks = { checks: { sql: CHECKS } };
    expect(await runDataChecks(event('check', 'after-restore', { checks: { sql: [] } }), { inspector: null, clock: tickingClock() })).toMatchObject({ passed: true, summary: 'no SQL checks run after-restore' });
    expect(await runDataChecks(event('fingerprint', 'preflight', checks), { inspector: null, clock: tickingClock() })).toBeNull();
    await expect(runDataChecks(event('check', 'preflight', checks), { inspector: null, clock: tickingClock() })).rejects.toThrow(/database\.connection is not configured/);
  });
});
