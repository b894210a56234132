import { type DBCluster, type DBInstance, DescribeDBClustersCommand, DescribeDBInstancesCommand, ListTagsForResourceCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { withClient } from '../../adapters/local/pg-connection';
import type { PostgresServer } from '../../local/postgres/server';
import { databaseNames, fingerprint } from '../local/postgres/fixtures';
import { addedReport, expectDrillPassed, expectFailedDrillRecorded, expectPassedDrillRecorded, ledgerDrills, whileWatching } from './drills';
import { endMessage as message, expectBackupTaskRan, expectStoredDump, runbookBucket } from './dumps';
import { type Ended, useEmulatedAws } from './emulated-aws';
import { inspect, unusedGrants } from './inspect';
import { startSeededShop } from './postgres-stack';
import { RDS_ENDPOINTS, RDS_SECRET } from './stacks';
import { IMAGE } from './world';

/*
 * An Aurora PostgreSQL cluster on emulated AWS (issue 11, items 1 and 5; the `auroradrill` stack of stacks.ts: an
 * aurora-cluster with database.connection, network and logicalBackup). `{action: drill}` snapshots the cluster,
 * restores the cluster snapshot into the cluster `shop-cluster-drill-<ts>` with one writer of the same name, the
 * data-checks function checks that copy at its cluster endpoint, and the restore function deletes the writer, then
 * the cluster. A deployment takes the cluster snapshot and, beside it, a dump of the cluster's endpoint by the backup
 * task (rds-logical-copy.test.ts proves the same for an instance, and the scenarios only an instance needs).
 *
 * The bridge is the RDS files' (rds-drill.test.ts): moto's cluster is created with the port of a throwaway PostgreSQL
 * and every `*.rds.amazonaws.com` name resolves to 127.0.0.1. moto restores no data: the scratch cluster keeps the
 * source's port, so its endpoint reaches the SAME server. What this file proves is the calls, names, tags, settings,
 * ports, IAM grants and wiring (the checks reach the copy's endpoint, the dump the source's), not that a cluster
 * snapshot holds restorable data: that is RDS's part.
 *
 * The stack is deployed once for the file: the scenarios run in order against it (v1 at first).
 */
describe('the deployed runbook on emulated AWS: an Aurora cluster drilled, with a logical copy beside each snapshot', { timeout: 240_000 }, () => {
  const DATABASE = 'shop';
  const CLUSTER = 'shop-cluster';
  const WRITER = `${CLUSTER}-1`;
  const SCRATCH = new RegExp(`^${CLUSTER}-drill-\\d{14}$`);
  const aws = useEmulatedAws({ hosts: () => ({ [RDS_ENDPOINTS]: '127.0.0.1' }), timeScale: 0.01 });
  let server: PostgresServer;
  let url: string;
  let password: string;
  let endpoint: { address: string; port: number };

  const rds = () => new RDSClient(aws.operator.config);
  const keys = (prefix: string) => runbookBucket(aws).keys(prefix);
  const body = (key: string) => runbookBucket(aws).body(key);
  const arn = (rest: string) => `arn:aws:rds:us-east-1:123456789012:${rest}`;
  /** The cluster endpoint moto gives a cluster (its `cluster-…` part the account's, as on AWS: moto/launch.py). */
  const clusterEndpoint = (id: string) => `${id}.cluster-aaaaaaaaaaaa.us-east-1.rds.amazonaws.com`;
  const cluster = async (id: string) => (await rds().send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters?.[0];
  const instance = async (id: string) => (await rds().send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances?.[0];
  const tagsOf = async (resource: string | undefined) =>
    Object.fromEntries(((await rds().send(new ListTagsForResourceCommand({ ResourceName: resource }))).TagList ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
  /** The allowed authorisations an API call needed, as `action resource`, sorted. */
  const authorised = (request: string) =>
    aws.moto
      .authorizations()
      .filter((a) => a.request === request && a.allowed)
      .map((a) => `${a.action} ${a.resource}`)
      .sort();

  /** A cluster or writer seen besides the source's while a drill ran. */
  interface Seen {
    readonly id: string;
    readonly kind: 'cluster' | 'writer';
    readonly tags: Record<string, string>;
    readonly cluster?: DBCluster;
    readonly writer?: DBInstance;
  }

  /** Runs a drill while watching moto for the scratch cluster and its writer (they exist between AdvanceDrill and DiscardDrillCopy). */
  async function drillWatching(input: Record<string, unknown>): Promise<{ ended: Ended; clusters: Seen[]; writers: Seen[] }> {
    const { result: ended, seen } = await whileWatching(
      () => aws.run(input),
      async (known) => {
        const found: Seen[] = [];
        for (const c of (await rds().send(new DescribeDBClustersCommand({}))).DBClusters ?? []) {
          const id = `cluster ${c.DBClusterIdentifier}`;
          if (c.DBClusterIdentifier !== CLUSTER && !known.has(id)) found.push({ id, kind: 'cluster', tags: await tagsOf(c.DBClusterArn), cluster: c });
        }
        for (const i of (await rds().send(new DescribeDBInstancesCommand({}))).DBInstances ?? []) {
          const id = `writer ${i.DBInstanceIdentifier}`;
          if (i.DBInstanceIdentifier !== WRITER && !known.has(id)) found.push({ id, kind: 'writer', tags: await tagsOf(i.DBInstanceArn), writer: i });
        }
        return found;
      },
    );
    return { ended, clusters: seen.filter((s) => s.kind === 'cluster'), writers: seen.filter((s) => s.kind === 'writer') };
  }

  /** What a drill must leave as it was: the source cluster's and writer's settings and tags. */
  async function sourceSettings() {
    const c = await cluster(CLUSTER);
    const w = await instance(WRITER);
    return {
      cluster: {
        endpoint: c?.Endpoint,
        port: c?.Port,
        status: c?.Status,
        members: c?.DBClusterMembers,
        parameterGroup: c?.DBClusterParameterGroup,
        securityGroups: c?.VpcSecurityGroups,
        protection: c?.DeletionProtection,
        created: c?.ClusterCreateTime,
        tags: await tagsOf(c?.DBClusterArn),
      },
      writer: { cluster: w?.DBClusterIdentifier, status: w?.DBInstanceStatus, class: w?.DBInstanceClass, created: w?.InstanceCreateTime, tags: await tagsOf(w?.DBInstanceArn) },
    };
  }

  beforeAll(async () => {
    ({ server, url, password } = await startSeededShop(DATABASE));
    await aws.deploy('auroradrill', {}, { databasePort: server.port });
    const source = await cluster(CLUSTER);
    endpoint = { address: source?.Endpoint ?? '', port: source?.Port ?? 0 };
    // moto's cluster endpoint name, and the throwaway server's port: what the secret RDS attaches to a cluster holds.
    expect(endpoint).toEqual({ address: clusterEndpoint(CLUSTER), port: server.port });
    const secret = { engine: 'postgres', host: endpoint.address, port: endpoint.port, username: 'postgres', password, dbname: DATABASE, dbClusterIdentifier: CLUSTER };
    await new SecretsManagerClient(aws.operator.config).send(new CreateSecretCommand({ Name: RDS_SECRET, SecretString: JSON.stringify(secret) }));
    aws.app.versions = { v1: {}, v2: {}, v3: {} };
  }, 600_000);

  // Each scenario reads its own calls and logs; the bucket (the ledger's drills) carries over.
  beforeEach(() => aws.forgetLogs());

  afterAll(async () => {
    await server?.stop();
  });

  afterEach(() => {
    expect(aws.host.logsContaining(password)).toEqual([]);
    expect(aws.moto.taskOutput().filter((output) => output.line.includes(password))).toEqual([]);
  });

  it('{action: drill} restores this execution\'s cluster snapshot into shop-cluster-drill-<ts> with a writer, checks it at its endpoint, deletes writer then cluster: DrillSucceeded, the source untouched', async () => {
    const before = await fingerprint(url);
    const reportsBefore = await keys('reports/shop/');
    const snapshotsBefore = await inspect(aws).manualClusterSnapshots();
    const source = await cluster(CLUSTER);
    const sourceWriter = await instance(WRITER);
    const settingsBefore = await sourceSettings();

    const { ended, clusters, writers } = await drillWatching({ action: 'drill', reason: 'quarterly restore test' });

    expectDrillPassed(ended);

    // This execution's cluster snapshot, the only new one, is what the copy was restored from.
    const [snapshotId, ...others] = (await inspect(aws).manualClusterSnapshots()).filter((id) => !snapshotsBefore.includes(id));
    expect(others).toEqual([]);
    const [copy, ...moreCopies] = clusters;
    expect(moreCopies).toEqual([]);
    expect(copy.cluster?.DBClusterIdentifier).toMatch(SCRATCH);
    const scratch = copy.cluster?.DBClusterIdentifier ?? '';
    // One writer, under the same identifier, in the copy; none elsewhere.
    expect(writers.map((w) => [w.writer?.DBInstanceIdentifier, w.writer?.DBClusterIdentifier])).toEqual([[scratch, scratch]]);
    const [writer] = writers;

    // One restore call: of that snapshot, into the copy, tagged on create, with the source's subnet and cluster parameter groups.
    expect(authorised('rds:RestoreDBClusterFromSnapshot')).toEqual(
      [
        `rds:AddTagsToResource ${arn(`cluster:${scratch}`)}`,
        `rds:RestoreDBClusterFromSnapshot ${arn(`cluster:${scratch}`)}`,
        `rds:RestoreDBClusterFromSnapshot ${arn(`cluster-pg:${source?.DBClusterParameterGroup}`)}`,
        `rds:RestoreDBClusterFromSnapshot ${arn(`cluster-snapshot:${snapshotId}`)}`,
        `rds:RestoreDBClusterFromSnapshot ${arn(`subgrp:${source?.DBSubnetGroup}`)}`,
      ].sort(),
    );
    // One CreateDBInstance: the writer, in the copy, tagged on create, with the source writer's parameter group.
    expect(authorised('rds:CreateDBInstance')).toEqual(
      [
        `rds:AddTagsToResource ${arn(`db:${scratch}`)}`,
        `rds:CreateDBInstance ${arn(`cluster:${scratch}`)}`,
        `rds:CreateDBInstance ${arn(`db:${scratch}`)}`,
        `rds:CreateDBInstance ${arn(`pg:${sourceWriter?.DBParameterGroups?.[0]?.DBParameterGroupName}`)}`,
      ].sort(),
    );
    // Tagged as this runbook's drill by this execution, restored from the snapshot; none of the source's tags.
    const drillTags = { 'deploy-runbook:drill-of': 'shop', 'deploy-runbook:drill-execution': expect.stringContaining(':execution:'), 'deploy-runbook:restored-from': snapshotId };
    expect(copy.tags).toEqual(drillTags);
    expect(writer.tags).toEqual(drillTags);
    // The source's settings: engine, version, port (the bridge's server), parameter group, network; unprotected.
    const settings = (c?: DBCluster) => ({ engine: c?.Engine, version: c?.EngineVersion, port: c?.Port, parameterGroup: c?.DBClusterParameterGroup, subnetGroup: c?.DBSubnetGroup, securityGroups: c?.VpcSecurityGroups });
    expect(settings(copy.cluster)).toEqual(settings(source));
    expect(copy.cluster?.DeletionProtection).toBe(false);
    expect({ class: writer.writer?.DBInstanceClass, groups: writer.writer?.DBParameterGroups?.map((g) => g.DBParameterGroupName), public: writer.writer?.PubliclyAccessible }).toEqual({
      class: sourceWriter?.DBInstanceClass,
      groups: sourceWriter?.DBParameterGroups?.map((g) => g.DBParameterGroupName),
      public: false,
    });
    // Its own cluster endpoint, which a function's log names: the checks reached the copy, by name, not the source's.
    expect(copy.cluster?.Endpoint).toBe(clusterEndpoint(scratch));
    expect(aws.host.logsContaining(copy.cluster?.Endpoint ?? '(none)').length).toBeGreaterThan(0);

    // Deleted afterwards, the writer first, then the cluster (each by its tag-conditioned grant).
    const deletes = aws.moto.authorizations().filter((a) => a.request === 'rds:DeleteDBInstance' || a.request === 'rds:DeleteDBCluster');
    expect(deletes.map((a) => [a.action, a.resource, a.allowed])).toEqual([
      ['rds:DeleteDBInstance', arn(`db:${scratch}`), true],
      ['rds:DeleteDBCluster', arn(`cluster:${scratch}`), true],
    ]);
    expect(await inspect(aws).clusters()).toEqual([CLUSTER]);
    expect((await inspect(aws).instances()).map((i) => i.id)).toEqual([WRITER]);
    // Untouched: no call changed the source cluster or its writer, and they have the same settings and tags as before.
    const changing = /^rds:(Modify|Delete|Reboot|Stop|Failover|AddTags|RemoveTags|Restore|CreateDBInstance)/;
    const sourceArns = [arn(`cluster:${CLUSTER}`), arn(`db:${WRITER}`)];
    expect(aws.moto.authorizations().filter((a) => changing.test(a.action) && sourceArns.includes(a.resource))).toEqual([]);
    expect(await sourceSettings()).toEqual(settingsBefore);
    expect(await fingerprint(url)).toEqual(before);
    expect((await databaseNames(server)).filter((name) => name.startsWith(`${DATABASE}_`))).toEqual([]);
    expect(await inspect(aws).runningTag()).toBe('v1');
    expect((await inspect(aws).lock())?.state).toBe('released');
    await expectPassedDrillRecorded(aws, reportsBefore, snapshotId);
  });

  it('fails a drill whose copy fails an after-restore check, naming the check and its value, and still deletes the copy', async () => {
    const before = await ledgerDrills(aws);
    // The copy's endpoint reaches the same server (see the header): a row there is a row "in the restored copy".
    await withClient(url, (client) => client.query("UPDATE orders SET status = 'lost' WHERE id <= 3"));
    const reportsBefore = await keys('reports/shop/');

    let run: Awaited<ReturnType<typeof drillWatching>>;
    try {
      run = await drillWatching({ action: 'drill' });
    } finally {
      await withClient(url, (client) => client.query("UPDATE orders SET status = 'paid' WHERE status = 'lost'"));
    }
    const { ended, clusters, writers } = run;

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'DeploymentAborted']);
    expect(message(ended)).toContain(`'no order lost in transit' returned "3", expected 0`);
    expect(ended.states).toEqual(expect.arrayContaining(['VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill', 'DrillFailed']));
    expect(ended.states).not.toContain('DrillSucceeded');
    expect(clusters.map((c) => c.cluster?.DBClusterIdentifier)).toEqual([expect.stringMatching(SCRATCH)]);
    expect(writers.map((w) => w.writer?.DBInstanceIdentifier)).toEqual([clusters[0].cluster?.DBClusterIdentifier]);
    // The copy is still deleted, writer and cluster; the source is all that is left.
    expect(aws.moto.authorizations().filter((a) => /^rds:Delete/.test(a.request)).map((a) => [a.action, a.allowed])).toEqual([
      ['rds:DeleteDBInstance', true],
      ['rds:DeleteDBCluster', true],
    ]);
    expect(await inspect(aws).clusters()).toEqual([CLUSTER]);
    expect((await inspect(aws).instances()).map((i) => i.id)).toEqual([WRITER]);
    expect((await inspect(aws).lock())?.state).toBe('released');

    // The runbook's topic hears of it, as for any drill.
    const notified = (await aws.world.notifications()).filter((n) => n.subject?.includes('restore drill FAILED'));
    expect(notified.map((n) => n.subject)).toEqual(['shop: restore drill FAILED, backup not proven restorable']);
    expectFailedDrillRecorded({ before, after: await ledgerDrills(aws) }, await addedReport(aws, reportsBefore), 'no order lost in transit');
  });

  it('takes the cluster snapshot AND a verified dump of the cluster\'s endpoint before the deploy (S3 multipart, sha256, pg_restore --list), both recorded', async () => {
    const reportsBefore = await keys('reports/shop/');
    const snapshotsBefore = await inspect(aws).manualClusterSnapshots();

    const ended = await aws.run({ action: 'deploy', version: 'v2', image: IMAGE('v2') });

    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    expect(ended.states.indexOf('CheckSnapshot')).toBeGreaterThan(-1);
    expect(ended.states.indexOf('CheckSnapshot')).toBeLessThan(ended.states.indexOf('Deploy'));
    const [snapshotId, ...others] = (await inspect(aws).manualClusterSnapshots()).filter((id) => !snapshotsBefore.includes(id));
    expect(others).toEqual([]);
    expect(aws.moto.authorizations().filter((a) => a.action === 'rds:CreateDBClusterSnapshot').map((a) => a.resource)).toEqual(
      expect.arrayContaining([arn(`cluster:${CLUSTER}`), arn(`cluster-snapshot:${snapshotId}`)]),
    );

    // The dump, under the cluster snapshot's id: available, its bytes as hashed, a custom-format dump of every table.
    const meta = (await runbookBucket(aws).metas('shop')).find((m) => m.snapshotId === snapshotId);
    expect(meta).toMatchObject({ snapshotId, status: 'available', source: DATABASE, error: null });
    const dumpKey = `backups/shop/${snapshotId}.dump`;
    await expectStoredDump(aws, dumpKey, meta!, server.binDir, ['customers', 'orders', 'settings']);
    expectBackupTaskRan(aws);
    // The task's PGHOST is the secret's host, the cluster's endpoint: ECS injected it from this secret, read as the task's
    // execution role (moto/launch.py resolves the name for pg_dump, as for the functions); the functions' logs name the
    // endpoint they reached.
    const injected = aws.moto.authorizations().filter((a) => a.principal.includes('TaskDefinitionExecutionRole'));
    expect(injected.map((a) => a.resource)).toEqual([expect.stringContaining(`:secret:${RDS_SECRET}`)]);
    expect(aws.host.logsContaining(endpoint.address).length).toBeGreaterThan(0);

    // Both recorded: the backup manifest and the evidence report have the cluster snapshot, with the dump beside it.
    const reports = (await keys('reports/shop/')).filter((key) => key.endsWith('.json') && !reportsBefore.includes(key));
    expect(reports).toHaveLength(1);
    type Backup = { snapshotId: string; status: string; manifestKey: string; logicalCopy: Record<string, unknown> | null };
    const report = JSON.parse((await body(reports[0])).toString()) as { backup: Backup };
    const copy = { status: 'available', source: DATABASE, location: dumpKey, checksum: meta?.sha256, sizeBytes: meta?.bytes };
    expect(report.backup).toMatchObject({ snapshotId, status: 'available', logicalCopy: copy });
    const manifest = JSON.parse((await body(report.backup.manifestKey)).toString()) as { snapshot: { id: string; status: string; logicalCopy: unknown } };
    expect(manifest.snapshot).toMatchObject({ id: snapshotId, status: 'available', logicalCopy: copy });
    expect(await inspect(aws).runningTag()).toBe('v2');
  });

  it('restores the cluster SNAPSHOT when the migrations fail (restorePolicy always): the failed cluster and writer kept renamed, the dump left alone', async () => {
    const before = await fingerprint(url);
    const snapshotsBefore = await inspect(aws).manualClusterSnapshots();
    aws.setControl({ ecs: { taskExitCodes: { [IMAGE('v3')]: 3 } } });

    const ended = await aws.run({ action: 'deploy', version: 'v3', image: IMAGE('v3') });

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toContain('AdvanceRestore');
    const [taken, ...more] = (await inspect(aws).manualClusterSnapshots()).filter((id) => !snapshotsBefore.includes(id));
    expect(more).toEqual([]);
    // This deployment's dump was stored and verified before the migrations ran.
    expect((await runbookBucket(aws).metas('shop')).find((meta) => meta.snapshotId === taken)?.status).toBe('available');
    // RDS: the cluster restored from the snapshot under its name, with a writer under the writer's name, at the same
    // endpoint and port; the failed cluster and writer kept renamed.
    expect((await inspect(aws).clusters()).sort()).toEqual([CLUSTER, expect.stringMatching(new RegExp(`^${CLUSTER}-failed-\\d{14}$`))]);
    expect((await inspect(aws).instances()).map((i) => i.id).sort()).toEqual([WRITER, expect.stringMatching(new RegExp(`^${WRITER}-failed-\\d{14}$`))]);
    const restored = await cluster(CLUSTER);
    expect(Object.values(await tagsOf(restored?.DBClusterArn))).toContain(taken);
    expect({ address: restored?.Endpoint, port: restored?.Port }).toEqual(endpoint);
    expect(restored?.DBClusterMembers?.map((m) => [m.DBInstanceIdentifier, m.IsClusterWriter])).toEqual([[WRITER, true]]);
    // Not the dump: the restore function started no task and wrote no restore outcome; PostgreSQL has no swapped-out copy.
    expect(aws.moto.authorizations().filter((a) => a.action === 'ecs:RunTask' && a.principal.includes('RestoreDatabase'))).toEqual([]);
    expect((await keys('backups/shop/')).filter((key) => key.includes('.restore-'))).toEqual([]);
    expect((await databaseNames(server)).filter((name) => name.startsWith(`${DATABASE}_failed_`))).toEqual([]);
    expect(await fingerprint(url)).toEqual(before);
    expect(await inspect(aws).runningTag()).toBe('v2');
  });

  // Runs last: it reads what the scenarios above were authorised to do.
  it('used every action the drill and the logical copy need of the roles that connect, restore and dump', () => {
    const roles = ['preflight', 'database-snapshot', 'data-checks', 'restore-database', 'backup-task', 'backup-task-execution'];
    // ec2: the network interfaces Lambda makes for a function in a VPC, not calls of the function.
    const unused = unusedGrants(aws, aws.tier.templates.auroradrill, (role, action) => roles.includes(role) && !action.startsWith('ec2:'));
    expect(unused).toEqual([
      // Aborting the multipart upload of a dump that failed half-way: rds-logical-copy.test.ts proves it (the task and
      // its grants are the same for an instance and a cluster); no dump fails here.
      'backup-task s3:AbortMultipartUpload',
      // S3 answers 404 rather than 403 for a missing key only with ListBucket; moto answers 404 either way.
      'backup-task s3:ListBucket',
      // CDK's ecs.Secret.fromSecretsManager grants the execution role read access (GetSecretValue and DescribeSecret);
      // ECS injects a secret with GetSecretValue alone.
      'backup-task-execution secretsmanager:DescribeSecret',
      'database-snapshot s3:ListBucket',
    ]);
  });
});
