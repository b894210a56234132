import { randomBytes } from 'node:crypto';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../adapters/local/pg-connection';
import type { PostgresServer } from '../../local/postgres/server';
import { databaseNames, fingerprint } from '../local/postgres/fixtures';
import { endMessage as message, expectBackupTaskRan, expectStoredDump, runbookBucket } from './dumps';
import { type Ended, useEmulatedAws } from './emulated-aws';
import { grantedByRole, inspect, unusedGrants } from './inspect';
import { startSeededShop } from './postgres-stack';
import { RDS_ENDPOINTS, RDS_SECRET } from './stacks';
import { IMAGE } from './world';

/*
 * An RDS PostgreSQL instance with `database.logicalBackup` on emulated AWS (the `rdscopy` stack of stacks.ts): before
 * each deployment the RDS snapshot AND a pg_dump of the instance by the stack's ECS task (the same task as the
 * postgres kind's, bridged by moto/launch.py as logical-backup.test.ts describes); a rollback restores the snapshot.
 *
 * moto runs no database behind an instance. The bridge: the test creates moto's instance with the port of a throwaway
 * PostgreSQL, and the emulated network resolves every `*.rds.amazonaws.com` name (moto's endpoint names) to 127.0.0.1,
 * for the functions (tier-dns.mjs in their execution environments) and for the task's processes (the same preload for
 * Node, PGHOSTADDR for pg_dump and pg_restore). The connection secret is in RDS's own format, its host the endpoint
 * moto describes: the product derives the host as on AWS, from the secret, and the synthesized artifacts are unchanged.
 *
 * The stack is deployed once for the file: the scenarios run in order against it (v1 at first, v2 from the first good
 * deployment on).
 */
describe('the deployed runbook on emulated AWS: an RDS instance with a logical copy beside each snapshot', { timeout: 240_000 }, () => {
  const DATABASE = 'shop';
  const INSTANCE = 'shop-db';
  /** A role that reads every table but not a sequence: the checks before the snapshot pass, pg_dump fails. */
  const PARTIAL_ROLE = 'shop_backup';
  const partialPassword = `pw-${randomBytes(12).toString('hex')}`;
  // 1/100, as logical-backup.test.ts: the dump is real processes, and the snapshot checks wait for it (stacks.ts).
  const aws = useEmulatedAws({ hosts: () => ({ [RDS_ENDPOINTS]: '127.0.0.1' }), timeScale: 0.01 });
  let server: PostgresServer;
  let url: string;
  let password: string;
  let endpoint: { address: string; port: number };

  const rdsSecret = () => ({ engine: 'postgres', host: endpoint.address, port: endpoint.port, username: 'postgres', password, dbname: DATABASE, dbInstanceIdentifier: INSTANCE });

  async function setSecret(fields: Record<string, unknown>): Promise<void> {
    await new SecretsManagerClient(aws.operator.config).send(new PutSecretValueCommand({ SecretId: RDS_SECRET, SecretString: JSON.stringify(fields) }));
  }

  const keys = (prefix: string) => runbookBucket(aws).keys(prefix);
  const body = (key: string) => runbookBucket(aws).body(key);
  const openUploads = () => runbookBucket(aws).openUploads();
  const metas = () => runbookBucket(aws).metas('shop');
  const deploy = (version: string): Promise<Ended> => aws.run({ action: 'deploy', version, image: IMAGE(version) });

  beforeAll(async () => {
    ({ server, url, password } = await startSeededShop(DATABASE));
    await aws.deploy('rdscopy', {}, { databasePort: server.port });
    const described = await new RDSClient(aws.operator.config).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: INSTANCE }));
    const instance = described.DBInstances?.[0];
    endpoint = { address: instance?.Endpoint?.Address ?? '', port: instance?.Endpoint?.Port ?? 0 };
    // moto's endpoint name, and the throwaway server's port: what the secret RDS attaches to an instance holds.
    expect(endpoint).toEqual({ address: `${INSTANCE}.aaaaaaaaaa.us-east-1.rds.amazonaws.com`, port: server.port });
    await new SecretsManagerClient(aws.operator.config).send(new CreateSecretCommand({ Name: RDS_SECRET, SecretString: JSON.stringify(rdsSecret()) }));
    aws.app.versions = { v1: {}, v2: {}, v3: {} };
  }, 600_000);

  afterAll(async () => {
    await server?.stop();
  });

  afterEach(() => {
    // Besides useEmulatedAws's checks: no database password is in a function's log or a container's output.
    for (const secret of [password, partialPassword]) {
      expect(aws.host.logsContaining(secret)).toEqual([]);
      expect(aws.moto.taskOutput().filter((output) => output.line.includes(secret))).toEqual([]);
    }
  });

  it('aborts in Preflight, before the snapshot, when the secret lacks the host or the endpoint does not answer, naming it', async () => {
    const { host: _host, ...withoutHost } = rdsSecret();
    await setSecret(withoutHost);
    const incomplete = await deploy('v2');
    expect([incomplete.status, incomplete.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(message(incomplete)).toContain(`Secrets Manager secret '${RDS_SECRET}' (database.connection) has no "host"`);

    // The endpoint's name resolves, but nothing listens on port 1.
    await setSecret({ ...rdsSecret(), port: 1 });
    const unreachable = await deploy('v2');
    expect([unreachable.status, unreachable.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(message(unreachable)).toContain(`could not connect to postgres://postgres@${endpoint.address}:1/${DATABASE}`);
    expect(unreachable.cause).not.toContain(password);

    for (const run of [incomplete, unreachable]) {
      expect(run.states).toContain('Preflight');
      expect(run.states).not.toContain('TakeSnapshot');
      expect(run.states).not.toContain('Deploy');
    }
    const look = inspect(aws);
    expect(await look.manualSnapshots()).toEqual([]);
    expect(aws.allAuthorizations().filter((a) => a.action === 'ecs:RunTask')).toEqual([]);
    expect(await keys('backups/shop/')).toEqual([]);
    expect(await openUploads()).toEqual([]);
    expect(await look.runningTag()).toBe('v1');
    expect((await look.lock())?.state).toBe('released');
  });

  it('takes the snapshot AND a verified dump of the instance before the deploy (S3 multipart, sha256, pg_restore --list), both in the report', async () => {
    await setSecret(rdsSecret());
    const reportsBefore = await keys('reports/shop/');

    const ended = await deploy('v2');

    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    expect(ended.states.indexOf('CheckSnapshot')).toBeGreaterThan(-1);
    expect(ended.states.indexOf('CheckSnapshot')).toBeLessThan(ended.states.indexOf('Deploy'));
    const [snapshotId, ...others] = await inspect(aws).manualSnapshots();
    expect(others).toEqual([]);

    // The dump, under the snapshot's id: available, its bytes as hashed, a custom-format dump of every table.
    const [meta, ...otherMetas] = await metas();
    expect(otherMetas).toEqual([]);
    expect(meta).toMatchObject({ snapshotId, status: 'available', source: DATABASE, error: null });
    expect(meta.verification).toEqual([
      `sha256 computed while streaming ${meta.bytes} bytes`,
      'S3 checked the SHA-256 of each of its 1 parts (object checksum not returned)',
      'pg_restore --list of the dump before the store committed it: 12 entries, 3 tables, 3 with data',
    ]);
    const dumpKey = `backups/shop/${snapshotId}.dump`;
    await expectStoredDump(aws, dumpKey, meta, server.binDir, ['customers', 'orders', 'settings']);

    // Both recorded: the backup manifest and the evidence report have the snapshot, with the dump beside it.
    const reports = (await keys('reports/shop/')).filter((key) => key.endsWith('.json') && !reportsBefore.includes(key));
    expect(reports).toHaveLength(1);
    type Backup = { snapshotId: string; status: string; manifestKey: string; logicalCopy: Record<string, unknown> | null };
    const report = JSON.parse((await body(reports[0])).toString()) as { backup: Backup };
    const copy = { status: 'available', source: DATABASE, location: dumpKey, checksum: meta.sha256, sizeBytes: meta.bytes };
    expect(report.backup).toMatchObject({ snapshotId, status: 'available', logicalCopy: copy });
    const manifest = JSON.parse((await body(report.backup.manifestKey)).toString()) as { snapshot: { id: string; status: string; logicalCopy: unknown } };
    expect(manifest.snapshot).toMatchObject({ id: snapshotId, status: 'available', logicalCopy: copy });

    expectBackupTaskRan(aws);
    expect(await inspect(aws).runningTag()).toBe('v2');
  });

  it('aborts when the dump fails after the snapshot was taken: the upload aborted, the meta failed, no dump object, nothing deployed', async () => {
    // The backup user reads every table (Preflight, the fingerprint and the snapshot function pass) but not a sequence
    // added later: pg_dump reads every sequence's state and fails, after the snapshot was taken.
    await withClient(url, (client) =>
      client.query(`CREATE ROLE ${PARTIAL_ROLE} LOGIN PASSWORD '${partialPassword}'; GRANT SELECT ON customers, orders, settings TO ${PARTIAL_ROLE}; CREATE SEQUENCE invoice_numbers`),
    );
    await setSecret({ ...rdsSecret(), username: PARTIAL_ROLE, password: partialPassword });
    const snapshotsBefore = await inspect(aws).manualSnapshots();

    let ended: Ended;
    try {
      ended = await deploy('v3');
    } finally {
      await withClient(url, (client) => client.query('DROP SEQUENCE invoice_numbers'));
    }

    expect([ended.status, ended.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(ended.states).toEqual(expect.arrayContaining(['TakeSnapshot', 'CheckSnapshot']));
    expect(ended.states).not.toContain('Deploy');
    expect(ended.states).not.toContain('StartMigrations');
    expect(message(ended)).toMatch(/logical backup \S+ of database "shop" failed: .*permission denied for sequence invoice_numbers/);
    // The snapshot was taken; its copy is marked failed, never available, and no dump object was completed.
    const [taken, ...more] = (await inspect(aws).manualSnapshots()).filter((id) => !snapshotsBefore.includes(id));
    expect(more).toEqual([]);
    const failed = (await metas()).find((meta) => meta.snapshotId === taken);
    expect(failed).toMatchObject({ status: 'failed', sha256: null, bytes: null });
    expect(failed?.error).toContain('permission denied for sequence invoice_numbers');
    expect(await keys(`backups/shop/${taken}.dump`)).toEqual([]);
    expect(await openUploads()).toEqual([]);
    expect(aws.moto.authorizations().filter((a) => a.principal.includes('TaskDefinitionTaskRole')).map((a) => a.action)).toContain('s3:AbortMultipartUpload');
    expect(await inspect(aws).runningTag()).toBe('v2');
    expect((await inspect(aws).lock())?.state).toBe('released');
  });

  it('restores the SNAPSHOT when the migrations fail (restorePolicy always): the failed instance kept renamed, the dump left alone', async () => {
    await setSecret(rdsSecret());
    const before = await fingerprint(url);
    const snapshotsBefore = await inspect(aws).manualSnapshots();
    aws.setControl({ ecs: { taskExitCodes: { [IMAGE('v3')]: 3 } } });

    const ended = await deploy('v3');

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toEqual(expect.arrayContaining(['AdvanceRestore']));
    const [taken, ...more] = (await inspect(aws).manualSnapshots()).filter((id) => !snapshotsBefore.includes(id));
    expect(more).toEqual([]);
    // This deployment's copy was stored and verified before the migrations ran.
    expect((await metas()).find((meta) => meta.snapshotId === taken)?.status).toBe('available');
    // RDS: the instance restored from the snapshot under its name, on the same port; the failed one kept renamed.
    const instances = await inspect(aws).instances();
    expect(instances.map((i) => i.id).sort()).toEqual([INSTANCE, expect.stringMatching(/^shop-db-failed-\d{14}$/)]);
    expect(Object.values(instances.find((i) => i.id === INSTANCE)?.tags ?? {})).toContain(taken);
    const restored = (await new RDSClient(aws.operator.config).send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: INSTANCE }))).DBInstances?.[0];
    expect({ address: restored?.Endpoint?.Address, port: restored?.Endpoint?.Port }).toEqual(endpoint);
    // Not the dump: the restore function started no task and wrote no restore outcome; PostgreSQL has no swapped-out copy.
    expect(aws.moto.authorizations().filter((a) => a.action === 'ecs:RunTask' && a.principal.includes('RestoreDatabase'))).toEqual([]);
    expect((await keys('backups/shop/')).filter((key) => key.includes('.restore-'))).toEqual([]);
    expect((await databaseNames(server)).filter((name) => name.startsWith(`${DATABASE}_failed_`))).toEqual([]);
    expect(await fingerprint(url)).toEqual(before);
    expect(await inspect(aws).runningTag()).toBe('v2');
  });

  // Runs last: it reads what every scenario above was authorised to do.
  it('used every action the parts the logical copy adds are granted (the functions that connect, the task, its execution role)', () => {
    const roles = ['preflight', 'database-snapshot', 'restore-database', 'backup-task', 'backup-task-execution'];
    // ec2: the network interfaces Lambda makes for a function in a VPC, not calls of the function.
    const unused = unusedGrants(aws, aws.tier.templates.rdscopy, (role, action) => roles.includes(role) && !action.startsWith('ec2:'));
    expect(unused).toEqual([
      // S3 answers 404 rather than 403 for a missing key only with ListBucket; moto answers 404 either way.
      'backup-task s3:ListBucket',
      // CDK's ecs.Secret.fromSecretsManager grants the execution role read access (GetSecretValue and DescribeSecret);
      // ECS injects a secret with GetSecretValue alone.
      'backup-task-execution secretsmanager:DescribeSecret',
      'database-snapshot s3:ListBucket',
      // Deleting a restore drill's scratch instance (tagged for this runbook): only a drill does it, and no scenario
      // here drills (the RDS drill's own tier file does).
      'restore-database rds:DeleteDBInstance',
    ]);
    // The snapshot is what a rollback restores: the restore function may not start the backup task at all.
    const restoreActions = [...(grantedByRole(aws.tier.templates.rdscopy).get('restore-database') ?? [])];
    expect(restoreActions.filter((action) => action.startsWith('ecs:') || action === 'iam:PassRole')).toEqual([]);
  });
});
