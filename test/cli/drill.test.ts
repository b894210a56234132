import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { readLedger } from '../../core/tasks/ledger/release-ledger';
import { FileArtifactStore } from '../../adapters/local/file-artifact-store';
import { createDatabase, databaseNames, seedShop, usePostgres, useStoreRoot } from '../local/postgres/fixtures';
import { testIo } from './fixtures';

const server = usePostgres();
const root = useStoreRoot();

/** A local configuration over the shop database in DATABASE_URL; `after-restore` checks as given. */
async function configFile(name: string, check: { sql: string; expect: object }): Promise<string> {
  const path = join(root(), `${name}.json`);
  const config = {
    name,
    target: { kind: 'process', command: ['node', 'app.js', '{{version}}'], port: 3999 },
    database: { kind: 'postgres', restoreApproval: { required: false } },
    alarms: { kind: 'cloudwatch', names: [] },
    checks: { sql: [{ name: 'orders kept', ...check, when: ['after-restore'] }] },
    backup: { fingerprint: { checksumTables: ['customers'] } },
    smokeTests: { baseUrl: 'http://127.0.0.1:3999', checks: [{ name: 'health', path: '/health' }] },
  };
  await writeFile(path, JSON.stringify(config));
  return path;
}

async function drill(name: string, check: { sql: string; expect: object }) {
  const url = await createDatabase(server(), name.replace(/-/g, '_'));
  await seedShop(url, { customers: 100, orders: 250 });
  const io = testIo({ env: { DATABASE_URL: url, USER: 'ops' }, cwd: root(), now: new Date() });
  const workdir = join(root(), `${name}-work`);
  const code = await main(['drill', '--local', '--config', await configFile(name, check), '--workdir', workdir, '--json', '--reason', 'weekly drill'], io);
  return { code, io, workdir, json: JSON.parse(io.out().trim()) as Record<string, any> };
}

describe('deploy-runbook drill --local (real PostgreSQL)', () => {
  it('backs the database up, restores it into a scratch copy, checks and drops it: exit 0, recorded in the ledger', async () => {
    const run = await drill('shop-ok', { sql: 'SELECT count(*) FROM orders', expect: { equals: 250 } });

    expect(run.code, run.io.err()).toBe(0);
    expect(run.json).toMatchObject({ outcome: 'succeeded', error: null });
    expect(run.json.states.map((s: { name: string }) => s.name)).toEqual(expect.arrayContaining(['AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill', 'ReleaseLockAfterDrill']));
    expect(run.json.report).toMatch(/reports\/shop-ok\/drill-\d{14}-[0-9a-f]{8}\.md$/);
    expect((await databaseNames(server())).filter((db) => db.startsWith('shop_ok_drill_'))).toEqual([]);
    const { document } = await readLedger(new FileArtifactStore(join(run.workdir, 'store')), 'shop-ok');
    expect(document.drills).toEqual([expect.objectContaining({ action: 'drill', passed: true, discarded: true })]);
  });

  it('exits 1 naming the failed check when the copy does not hold up, and still drops the copy', async () => {
    const run = await drill('shop-bad', { sql: 'SELECT count(*) FROM orders', expect: { atLeast: 1000 } });

    expect(run.code).toBe(1);
    expect(run.json).toMatchObject({ outcome: 'failed', error: 'DeploymentAborted' });
    expect(run.json.cause).toContain(`'orders kept' returned "250", expected at least 1000`);
    expect((await databaseNames(server())).filter((db) => db.startsWith('shop_bad_drill_'))).toEqual([]);
  });

  it('fails with exit 64 without the database variable, starting nothing', async () => {
    const unset = testIo({ env: {}, cwd: root() });
    expect(await main(['drill', '--local', '--config', await configFile('shop-unset', { sql: 'SELECT 1', expect: { equals: 1 } })], unset)).toBe(64);
    expect(unset.err()).toContain('DATABASE_URL: the drill backs up and restores the database this variable names, and it is not set');
  });
});
