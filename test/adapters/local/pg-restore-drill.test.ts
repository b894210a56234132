import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { RunbookConfig } from '../../../config/schema';
import { runDataChecks, type DataCheckReport } from '../../../core/tasks/data-checks/data-checks';
import { runRestoreDatabase } from '../../../core/tasks/restore-database/restore-database';
import { RestoreFailedError, InvalidInputError } from '../../../core/errors';
import type { RestoreState, SnapshotRef } from '../../../core/model';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import { PgBackups } from '../../../adapters/local/pg-backups';
import { withClient, withDatabase } from '../../../adapters/local/pg-connection';
import { PgRestorer } from '../../../adapters/local/pg-restorer';
import { PgInspector } from '../../../adapters/pg-inspector';
import { createDatabase, databaseNames, fingerprint, POSTGRES_CONFIG, seedShop, tickingClock, usePostgres, useStoreRoot } from '../../local/postgres/fixtures';
import { deploymentFor } from '../../support/builders';

const server = usePostgres();
const storeRoot = useStoreRoot();

const config = RunbookConfig.parse({
  name: 'shop',
  target: { kind: 'process', command: ['node', 'app.js', '{{version}}'], port: 3999 },
  database: { kind: 'postgres' },
  checks: { sql: [{ name: 'every order has a customer', sql: 'SELECT count(*) FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL', expect: { equals: 0 }, when: ['after-restore'] }] },
  backup: { testRestore: true, fingerprint: { checksumTables: ['customers'] } },
  smokeTests: { baseUrl: 'http://127.0.0.1:3999', checks: [{ name: 'health', path: '/health' }] },
});
const execution = { id: 'arn:aws:states:eu-west-1:123456789012:execution:deploy-runbook-shop:drill-1', name: 'drill-1', startedAt: '2025-03-04T05:00:00.000Z' };
const deployment = { ...deploymentFor(execution, { id: 'drill-1-0a0b0c0d', target: 'shop', version: null, image: null, requestedBy: 'ci', bakeChecks: 1 }), action: 'drill' as const };

function inspector(url: string): PgInspector {
  return new PgInspector({ connectionString: url }, url);
}

/** A seeded database, its fingerprint as FingerprintData records it, and a verified dump taken with PgBackups. */
async function backedUp(name: string) {
  const url = await createDatabase(server(), name);
  await seedShop(url, { customers: 120, orders: 300 });
  const recorded = await inspector(url).fingerprint({ checksumTables: ['customers'] });
  const store = new FileArtifactStore(storeRoot());
  const snapshot = await new PgBackups(POSTGRES_CONFIG, { url, target: 'shop', store, clock: tickingClock(), binDir: server().binDir }).create(`snap-${name}`, {});
  const restorer = new PgRestorer(POSTGRES_CONFIG, { url, store, clock: tickingClock(), binDir: server().binDir });
  return { url, recorded, snapshot, restorer };
}

/** AdvanceDrill until done, as the state machine's loop calls it. */
async function drillRestore(restorer: PgRestorer, snapshot: SnapshotRef): Promise<RestoreState> {
  let drill: RestoreState | null = null;
  for (let call = 0; call < 5 && drill?.phase !== 'done'; call++) {
    drill = await runRestoreDatabase({ operation: 'drill', config, deployment, snapshot, restore: drill }, { restorer, scratch: restorer, clock: tickingClock() });
  }
  if (drill?.phase !== 'done') throw new Error(`drill restore not done: ${JSON.stringify(drill)}`);
  return drill;
}

async function verifyCopy(url: string, drill: RestoreState, recorded: Awaited<ReturnType<PgInspector['fingerprint']>>): Promise<DataCheckReport> {
  const report = await runDataChecks(
    { operation: 'verify-restore', phase: 'after-restore', config, fingerprint: recorded, database: drill.scratch },
    { inspector: inspector(url), inspectorOf: (name) => inspector(withDatabase(url, name)), clock: tickingClock() },
  );
  return report as DataCheckReport;
}

describe('the restore drill against a real PostgreSQL', () => {
  it('restores the backup beside the live database, matches the fingerprint, runs the after-restore checks, then drops only the copy', async () => {
    const { url, recorded, snapshot, restorer } = await backedUp('drill_ok');
    const live = await fingerprint(url);

    const drill = await drillRestore(restorer, snapshot);
    expect(drill.scratch).toMatch(/^drill_ok_drill_\d{14}$/);
    expect(await databaseNames(server())).toContain(drill.scratch);

    const report = await verifyCopy(url, drill, recorded);
    expect(report).toMatchObject({ passed: true, comparison: { identical: true, tables: 3 }, results: [{ name: 'every order has a customer', passed: true }] });

    const discarded = await runRestoreDatabase({ operation: 'discard-drill', config, deployment, snapshot, restore: drill }, { restorer, scratch: restorer, clock: tickingClock() });
    expect(discarded).toMatchObject({ phase: 'discarded', scratch: drill.scratch });
    expect(await databaseNames(server())).not.toContain(drill.scratch);
    expect(await fingerprint(url)).toEqual(live);
    // Discarding again is a no-op: the retried Task finds the copy gone.
    expect((await restorer.discardScratch(snapshot, drill)).steps.at(-1)?.detail).toMatch(/does not exist/);
  });

  it('names the table that differs when the data changed between the fingerprint and the backup', async () => {
    const { url, snapshot, restorer } = await backedUp('drill_differs');
    // The fingerprint is taken after rows were deleted from the live database: the backup holds more orders.
    await withClient(url, (client) => client.query('DELETE FROM orders WHERE id % 10 = 0'));
    const later = await inspector(url).fingerprint({ checksumTables: ['customers'] });

    const drill = await drillRestore(restorer, snapshot);
    const report = await verifyCopy(url, drill, later);

    expect(report.passed).toBe(false);
    expect(report.summary).toMatch(/differs from the fingerprint recorded before the backup: orders: 270 → 300 rows/);
    await restorer.discardScratch(snapshot, drill);
  });

  it('finds and drops a copy whose restore failed before answering (no state), and refuses to drop any other database', async () => {
    const { url, snapshot, restorer } = await backedUp('drill_lost');
    const first = await restorer.restoreScratch(snapshot, null);
    expect(first.phase).toBe('restore');

    const gone = await restorer.discardScratch(snapshot, null);
    expect(gone).toMatchObject({ phase: 'discarded', scratch: first.scratch });
    expect(await databaseNames(server())).not.toContain(first.scratch);

    await expect(restorer.discardScratch(snapshot, { ...first, scratch: 'drill_lost' })).rejects.toThrow(RestoreFailedError);
    await expect(restorer.discardScratch(snapshot, { ...first, scratch: 'drill_lost' })).rejects.toThrow(/refusing to drop "drill_lost"/);
    // A database with a drill's name that this drill did not create is left alone too.
    await withClient(withDatabase(url, 'postgres'), (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(first.scratch ?? '')}`));
    await expect(restorer.discardScratch(snapshot, first)).rejects.toThrow(/not marked as this drill's copy/);
    expect(await databaseNames(server())).toContain('drill_lost');
  });

  it('refuses to inspect a database that is not named as a drill copy', async () => {
    const { url, recorded } = await backedUp('drill_name');
    const event = { operation: 'verify-restore' as const, phase: 'after-restore' as const, config, fingerprint: recorded, database: 'drill_name' };
    await expect(runDataChecks(event, { inspector: inspector(url), inspectorOf: (name) => inspector(withDatabase(url, name)), clock: tickingClock() })).rejects.toThrow(InvalidInputError);
  });
});
