import { DescribeDBInstancesCommand, ListTagsForResourceCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../adapters/local/pg-connection';
import type { PostgresServer } from '../../local/postgres/server';
import { databaseNames, fingerprint } from '../local/postgres/fixtures';
import { addedReport as reportAdded, expectDrillPassed, expectFailedDrillRecorded, expectPassedDrillRecorded, ledgerDrills, whileWatching } from './drills';
import { endMessage as message, runbookBucket } from './dumps';
import { type Ended, useEmulatedAws } from './emulated-aws';
import { inspect, unusedGrants } from './inspect';
import { startSeededShop } from './postgres-stack';
import { RDS_ENDPOINTS, RDS_SECRET } from './stacks';

/*
 * The restore drill of an RDS instance on emulated AWS (issue 11, item 5; the `rdsdrill` stack of stacks.ts: an
 * rds-instance with database.connection and network, no logical backup). `{action: drill}` snapshots the instance,
 * restores the snapshot into `shop-db-drill-<ts>`, the data-checks function checks that copy at its endpoint, and the
 * restore function deletes it.
 *
 * The bridge is rds-logical-copy.test.ts's: moto's instance is created with the port of a throwaway PostgreSQL and
 * every `*.rds.amazonaws.com` name resolves to 127.0.0.1. moto restores no data: the scratch instance keeps the
 * source's port, so its endpoint reaches the SAME throwaway server. What this file proves is the calls, names, tags,
 * ports, IAM grants and wiring of the drill (the checks reach the copy's endpoint, never the source's), not that a
 * snapshot holds restorable data: that is RDS's part, and the postgres drill (restore-drill.test.ts) restores real data.
 *
 * The stack is deployed once for the file: the scenarios run in order against it.
 */
describe('the deployed runbook on emulated AWS: the restore drill of an RDS instance', { timeout: 240_000 }, () => {
  const DATABASE = 'shop';
  const INSTANCE = 'shop-db';
  const SCRATCH = new RegExp(`^${INSTANCE}-drill-\\d{14}$`);
  const aws = useEmulatedAws({ hosts: () => ({ [RDS_ENDPOINTS]: '127.0.0.1' }), timeScale: 0.01 });
  let server: PostgresServer;
  let url: string;
  let password: string;
  let endpoint: { address: string; port: number };

  const rds = () => new RDSClient(aws.operator.config);
  const keys = (prefix: string) => runbookBucket(aws).keys(prefix);
  const drills = () => ledgerDrills(aws);
  const addedReport = (before: readonly string[]) => reportAdded(aws, before);
  const restores = () => aws.moto.authorizations().filter((a) => a.request === 'rds:RestoreDBInstanceFromDBSnapshot' && a.allowed);

  interface SeenCopy {
    readonly id: string;
    readonly port: number | undefined;
    readonly address: string | undefined;
    readonly tags: Record<string, string>;
  }

  /** Runs a drill while watching moto for the scratch instance (it exists only between AdvanceDrill and DiscardDrillCopy). */
  async function drillWatching(input: Record<string, unknown>): Promise<{ ended: Ended; seen: SeenCopy[] }> {
    const { result: ended, seen } = await whileWatching(
      () => aws.run(input),
      async (known) => {
        const copies: SeenCopy[] = [];
        for (const instance of (await rds().send(new DescribeDBInstancesCommand({}))).DBInstances ?? []) {
          const id = instance.DBInstanceIdentifier ?? '';
          if (id === INSTANCE || known.has(id)) continue;
          const tags = (await rds().send(new ListTagsForResourceCommand({ ResourceName: instance.DBInstanceArn }))).TagList ?? [];
          copies.push({ id, port: instance.Endpoint?.Port, address: instance.Endpoint?.Address, tags: Object.fromEntries(tags.map((t) => [t.Key ?? '', t.Value ?? ''])) });
        }
        return copies;
      },
    );
    return { ended, seen };
  }

  beforeAll(async () => {
    ({ server, url, password } = await startSeededShop(DATABASE));
    await aws.deploy('rdsdrill', {}, { databasePort: server.port });
    const instance = (await rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: INSTANCE }))).DBInstances?.[0];
    endpoint = { address: instance?.Endpoint?.Address ?? '', port: instance?.Endpoint?.Port ?? 0 };
    expect(endpoint).toEqual({ address: `${INSTANCE}.aaaaaaaaaa.us-east-1.rds.amazonaws.com`, port: server.port });
    const secret = { engine: 'postgres', host: endpoint.address, port: endpoint.port, username: 'postgres', password, dbname: DATABASE, dbInstanceIdentifier: INSTANCE };
    await new SecretsManagerClient(aws.operator.config).send(new CreateSecretCommand({ Name: RDS_SECRET, SecretString: JSON.stringify(secret) }));
    aws.app.versions = { v1: {} };
  }, 600_000);

  afterAll(async () => {
    await server?.stop();
  });

  afterEach(() => {
    expect(aws.host.logsContaining(password)).toEqual([]);
  });

  it('{action: drill} restores this execution\'s snapshot into shop-db-drill-<ts>, checks it at its endpoint, deletes it: DrillSucceeded, the source untouched, ledger and report', async () => {
    const before = await fingerprint(url);
    const reportsBefore = await keys('reports/shop/');
    const snapshotsBefore = await inspect(aws).manualSnapshots();
    const source = (await rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: INSTANCE }))).DBInstances?.[0];

    const { ended, seen } = await drillWatching({ action: 'drill', reason: 'quarterly restore test' });

    expectDrillPassed(ended);

    // This execution's snapshot, the only new one, is what the copy was restored from.
    const [snapshotId, ...others] = (await inspect(aws).manualSnapshots()).filter((id) => !snapshotsBefore.includes(id));
    expect(others).toEqual([]);
    const [copy, ...moreCopies] = seen;
    expect(moreCopies).toEqual([]);
    expect(copy.id).toMatch(SCRATCH);
    // One restore call: of that snapshot, into the copy, tagged on create, with the source's parameter and option groups.
    const arn = (rest: string) => `arn:aws:rds:us-east-1:123456789012:${rest}`;
    expect(restores().map((a) => `${a.action} ${a.resource}`).sort()).toEqual(
      [
        `rds:AddTagsToResource ${arn(`db:${copy.id}`)}`,
        `rds:RestoreDBInstanceFromDBSnapshot ${arn(`db:${copy.id}`)}`,
        `rds:RestoreDBInstanceFromDBSnapshot ${arn(`og:${source?.OptionGroupMemberships?.[0]?.OptionGroupName}`)}`,
        `rds:RestoreDBInstanceFromDBSnapshot ${arn(`pg:${source?.DBParameterGroups?.[0]?.DBParameterGroupName}`)}`,
        `rds:RestoreDBInstanceFromDBSnapshot ${arn(`snapshot:${snapshotId}`)}`,
      ].sort(),
    );
    // Tagged as this runbook's drill by this execution, restored from the snapshot; none of the source's tags.
    expect(copy.tags).toEqual({
      'deploy-runbook:drill-of': 'shop',
      'deploy-runbook:drill-execution': expect.stringContaining(':execution:'),
      'deploy-runbook:restored-from': snapshotId,
    });
    // The source's port (the bridge's server), its own endpoint name: the checks reached the copy, by name.
    expect(copy).toMatchObject({ port: server.port, address: `${copy.id}.aaaaaaaaaa.us-east-1.rds.amazonaws.com` });
    expect(aws.host.logsContaining(copy.address!).length).toBeGreaterThan(0);

    // Deleted afterwards (by the tag-conditioned grant); the source instance is the only one left, as it was.
    expect((await inspect(aws).instances()).map((i) => i.id)).toEqual([INSTANCE]);
    const deletes = aws.moto.authorizations().filter((a) => a.request === 'rds:DeleteDBInstance');
    expect(deletes.map((a) => [a.resource, a.allowed])).toEqual([[`arn:aws:rds:us-east-1:123456789012:db:${copy.id}`, true]]);
    const after = (await rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: INSTANCE }))).DBInstances?.[0];
    expect({ address: after?.Endpoint?.Address, port: after?.Endpoint?.Port, status: after?.DBInstanceStatus }).toEqual({ ...endpoint, status: 'available' });
    // Untouched: no call changed the source instance, and it has the same settings and tags as before the drill.
    const changing = /^rds:(Modify|Delete|Reboot|Stop|AddTags|RemoveTags|RestoreDBInstance)/;
    expect(aws.moto.authorizations().filter((a) => changing.test(a.action) && a.resource === arn(`db:${INSTANCE}`))).toEqual([]);
    const kept = (instance: typeof source) => ({ tags: instance?.TagList, groups: instance?.DBParameterGroups, protection: instance?.DeletionProtection, created: instance?.InstanceCreateTime });
    expect(kept(after)).toEqual(kept(source));
    expect(await fingerprint(url)).toEqual(before);
    expect((await databaseNames(server)).filter((name) => name.startsWith(`${DATABASE}_`))).toEqual([]);
    expect(await inspect(aws).runningTag()).toBe('v1');
    expect((await inspect(aws).lock())?.state).toBe('released');
    await expectPassedDrillRecorded(aws, reportsBefore, snapshotId);
  });

  it('fails a drill whose copy fails an after-restore check, naming the check and its value, and still deletes the copy', async () => {
    const before = await drills();
    // The copy's endpoint reaches the same server (see the header): a row there is a row "in the restored copy".
    await withClient(url, (client) => client.query("UPDATE orders SET status = 'lost' WHERE id <= 3"));
    const reportsBefore = await keys('reports/shop/');

    let run: { ended: Ended; seen: SeenCopy[] };
    try {
      run = await drillWatching({ action: 'drill' });
    } finally {
      await withClient(url, (client) => client.query("UPDATE orders SET status = 'paid' WHERE status = 'lost'"));
    }
    const { ended, seen } = run;

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'DeploymentAborted']);
    expect(message(ended)).toContain(`'no order lost in transit' returned "3", expected 0`);
    expect(ended.states).toEqual(expect.arrayContaining(['VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill', 'DrillFailed']));
    expect(ended.states).not.toContain('DrillSucceeded');
    expect(seen.map((copy) => copy.id)).toEqual([expect.stringMatching(SCRATCH)]);
    expect((await inspect(aws).instances()).map((i) => i.id)).toEqual([INSTANCE]);
    expect((await inspect(aws).lock())?.state).toBe('released');

    // The runbook's topic hears of it, as for any drill.
    const notified = (await aws.world.notifications()).filter((n) => n.subject?.includes('restore drill FAILED'));
    expect(notified.map((n) => n.subject)).toEqual(['shop: restore drill FAILED, backup not proven restorable']);
    expectFailedDrillRecorded({ before, after: await drills() }, await addedReport(reportsBefore), 'no order lost in transit');
  });

  // Runs last: it reads what the scenarios above were authorised to do.
  it('used every RDS grant of the restore function that a drill needs', () => {
    const unused = unusedGrants(aws, aws.tier.templates.rdsdrill, (role, action) => role === 'restore-database' && action.startsWith('rds:'));
    expect(unused).toEqual([
      // A rollback's restore renames the failed live instance aside; a drill never modifies an instance, and no
      // scenario here rolls back (restore.test.ts and rds-logical-copy.test.ts do).
      'restore-database rds:ModifyDBInstance',
    ]);
  });
});
