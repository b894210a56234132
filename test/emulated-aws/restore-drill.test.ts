import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../adapters/local/pg-connection';
import type { DrillRecord } from '../../core/model';
import type { PostgresServer } from '../../local/postgres/server';
import { databaseNames, fingerprint } from '../local/postgres/fixtures';
import { expectFailedDrillRecorded } from './drills';
import type { Ended, EmulatedAws } from './emulated-aws';
import { inspect } from './inspect';
import { deployPostgresStack, expectAllowedAndNoPasswordLeaked, writeDuringDump } from './postgres-stack';
import { IMAGE } from './world';

/*
 * The restore drill on emulated AWS (issue 11, item 5; the `drill` stack of stacks.ts: database.kind postgres with
 * backup.testRestore). The stack's backup task dumps the database, then, started again in drill-restore mode, restores
 * that dump into `shop_drill_<ts>` beside the live database; the data-checks function compares the copy with the
 * fingerprint and runs the after-restore checks on it; the restore-database function drops the copy. moto/launch.py
 * runs the task's containers as local processes against the throwaway PostgreSQL, as logical-backup.test.ts describes.
 *
 * The stack is deployed once for the file: the scenarios run in order against it, each leaving the lock released.
 */
describe('the deployed runbook on emulated AWS: the restore drill of a postgres database', { timeout: 240_000 }, () => {
  const DATABASE = 'shop';
  const DRILL_COPY = new RegExp(`^${DATABASE}_drill_\\d{14}$`);
  let aws: EmulatedAws;
  let server: PostgresServer;
  let url: string;
  let password: string;

  async function keys(prefix: string): Promise<string[]> {
    const listed = await aws.operator.s3.send(new ListObjectsV2Command({ Bucket: aws.stack.bucketName, Prefix: prefix }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
  }

  async function text(key: string): Promise<string> {
    const response = await aws.operator.s3.send(new GetObjectCommand({ Bucket: aws.stack.bucketName, Key: key }));
    return response.Body!.transformToString();
  }

  /** The message of the error that ended an execution (its cause is the function's error as JSON, or a verdict's text). */
  function message(ended: Ended): string {
    try {
      return (JSON.parse(ended.cause ?? '') as { errorMessage: string }).errorMessage;
    } catch {
      return ended.cause ?? '';
    }
  }

  /** The Markdown report an execution added (exactly one). */
  async function addedReport(before: readonly string[]): Promise<string> {
    const added = (await keys('reports/shop/')).filter((key) => key.endsWith('.md') && !before.includes(key));
    expect(added).toHaveLength(1);
    return text(added[0]);
  }

  const drills = async () => (await aws.artifact<{ drills?: DrillRecord[] }>('ledger/shop.json'))?.drills ?? [];
  const drillCopies = async () => (await databaseNames(server)).filter((name) => DRILL_COPY.test(name));
  /** The requests the backup task was started with, in order: RunTask's container override, as the task read it. */
  const taskModes = () =>
    aws.moto
      .taskOutput()
      .map((o) => /"message":"(backup stored|drill restore restored|drill restore failed|restore restored)"/.exec(o.line)?.[1])
      .filter((m): m is string => m !== undefined);

  beforeAll(async () => {
    // A hundredth, as logical-backup.test.ts: the task's real pg_dump and pg_restore run between compressed waits.
    ({ aws, server, url, password } = await deployPostgresStack(DATABASE, 'drill'));
    aws.app.versions = { v1: {}, v2: {} };
  }, 600_000);

  afterAll(async () => {
    await aws?.stop();
    await server?.stop();
  });

  afterEach(() => expectAllowedAndNoPasswordLeaked(aws, password));

  it('{action: drill} restores the fresh dump into shop_drill_<ts>, checks the copy, drops it: DrillSucceeded, the live database untouched, the ledger and report say when', async () => {
    const before = await fingerprint(url);
    const reportsBefore = await keys('reports/shop/');

    const ended = await aws.run({ action: 'drill', reason: 'quarterly restore test' });

    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DrillSucceeded']);
    expect(ended.states).toEqual(expect.arrayContaining(['TakeSnapshot', 'AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill']));
    expect(ended.states).not.toContain('Deploy');
    expect(ended.states.indexOf('VerifyDrillCopy')).toBeGreaterThan(ended.states.lastIndexOf('AdvanceDrill'));
    // The task ran twice: the dump, then the drill's restore into the copy (never a rename-swap).
    expect(taskModes()).toEqual(['backup stored', 'drill restore restored']);
    // The data-checks function read the copy, by name, not the live database.
    expect(aws.host.logsContaining(`/${DATABASE}_drill_`).length).toBeGreaterThan(0);
    // The copy is gone, the live database is as it was, nothing renamed aside.
    expect(await drillCopies()).toEqual([]);
    expect((await databaseNames(server)).filter((name) => name.startsWith(`${DATABASE}_`))).toEqual([]);
    expect(await fingerprint(url)).toEqual(before);
    expect(await inspect(aws).runningTag()).toBe('v1');
    expect((await inspect(aws).lock())?.state).toBe('released');

    const [recorded] = await drills();
    expect(recorded).toMatchObject({ action: 'drill', passed: true });
    const report = await addedReport(reportsBefore);
    expect(report).toContain("- This execution's drill passed:");
    expect(report).toMatch(new RegExp(`- Scratch copy ${DATABASE}_drill_\\d{14}: dropped`));
    expect(report).toContain(`- Backup last proven restorable: ${recorded.at} (backup ${recorded.snapshotId}`);
  });

  it('fails a drill whose copy fails an after-restore check, naming the check and its value, and still drops the copy', async () => {
    const before = await drills();
    // Rows the restored copy carries over from the live database: the check that runs on copies only fails on them.
    await withClient(url, (client) => client.query("UPDATE orders SET status = 'lost' WHERE id <= 3"));
    const reportsBefore = await keys('reports/shop/');

    let ended: Ended;
    try {
      ended = await aws.run({ action: 'drill' });
    } finally {
      await withClient(url, (client) => client.query("UPDATE orders SET status = 'paid' WHERE status = 'lost'"));
    }

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'DeploymentAborted']);
    // The copy held the backup's data (the fingerprint matched): the check on it is what failed.
    expect(message(ended)).toBe(`1 of 2 SQL checks failed (after-restore): 'no order lost in transit' returned "3", expected 0; the restored data matches the fingerprint recorded before the backup (3 tables)`);
    expect(ended.states).toEqual(expect.arrayContaining(['VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill', 'DrillFailed']));
    expect(ended.states).not.toContain('DrillSucceeded');
    expect(await drillCopies()).toEqual([]);
    expect((await inspect(aws).lock())?.state).toBe('released');
    // The runbook's topic hears of it (the scheduled drills' alarm bell).
    const notified = (await aws.world.notifications()).filter((n) => n.subject?.includes('restore drill FAILED'));
    expect(notified.map((n) => n.subject)).toEqual(['shop: restore drill FAILED, backup not proven restorable']);

    expectFailedDrillRecorded({ before, after: await drills() }, await addedReport(reportsBefore), 'no order lost in transit');
  });

  it('drills before deploying when backup.testRestore is set: the copy checked and dropped before Deploy, then the release', async () => {
    const reportsBefore = await keys('reports/shop/');

    const ended = await aws.run({ action: 'deploy', version: 'v2', image: IMAGE('v2') });

    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    const at = (state: string) => ended.states.indexOf(state);
    expect(at('AdvanceDrill')).toBeGreaterThan(at('TakeSnapshot'));
    expect(at('DiscardDrillCopy')).toBeGreaterThan(at('VerifyDrillCopy'));
    expect(at('Deploy')).toBeGreaterThan(at('RecordDrill'));
    expect(await drillCopies()).toEqual([]);
    expect(await inspect(aws).runningTag()).toBe('v2');

    const [recorded] = await drills();
    expect(recorded).toMatchObject({ action: 'deploy', passed: true });
    const report = await addedReport(reportsBefore);
    expect(report).toContain(`- Backup last proven restorable: ${recorded.at} (backup ${recorded.snapshotId}`);
    expect(report).toContain('before the deployment');
  });

  it('fails a drill whose copy does not match the fingerprint (rows written between it and the dump), naming the table, and still drops the copy', async () => {
    const before = await drills();
    const reportsBefore = await keys('reports/shop/');
    const live = await fingerprint(url);
    await aws.world.clearNotifications();
    // The app keeps taking orders while the backup runs: 3 land after FingerprintData counted them, before pg_dump.
    const orders = live.rows.orders;
    const restoreDump = writeDuringDump(aws, `INSERT INTO orders SELECT g, 1, 100, 'paid' FROM generate_series(${orders + 1}, ${orders + 3}) g`);
    let ended: Ended;
    try {
      ended = await aws.run({ action: 'drill' });
    } finally {
      restoreDump();
    }

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'DeploymentAborted']);
    const difference = `orders: ${orders} → ${orders + 3} rows`;
    // The copy passed its SQL checks: the fingerprint comparison alone failed it.
    expect(message(ended)).toBe(`2 SQL checks passed (after-restore); the restored data differs from the fingerprint recorded before the backup: ${difference}`);
    expect(ended.states).toEqual(expect.arrayContaining(['FingerprintData', 'TakeSnapshot', 'AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill', 'DrillFailed']));
    expect(ended.states).not.toContain('DrillSucceeded');
    expect(ended.states).not.toContain('Deploy');
    // The copy was restored, compared and dropped; the live database keeps the orders the app wrote, nothing renamed.
    expect(taskModes().slice(-2)).toEqual(['backup stored', 'drill restore restored']);
    expect(await drillCopies()).toEqual([]);
    expect((await databaseNames(server)).filter((name) => name.startsWith(`${DATABASE}_`))).toEqual([]);
    expect((await fingerprint(url)).rows.orders).toBe(orders + 3);
    expect(await inspect(aws).runningTag()).toBe('v2');
    expect((await inspect(aws).lock())?.state).toBe('released');
    const notified = (await aws.world.notifications()).filter((n) => n.subject?.includes('restore drill FAILED'));
    expect(notified.map((n) => n.subject)).toEqual(['shop: restore drill FAILED, backup not proven restorable']);
    expect(notified[0].message).toContain(difference);

    const report = await addedReport(reportsBefore);
    expect(report).toContain(difference);
    expectFailedDrillRecorded({ before, after: await drills() }, report, difference);
  });
});
