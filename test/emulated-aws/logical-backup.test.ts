import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withClient, withDatabase } from '../../adapters/local/pg-connection';
import type { PostgresServer } from '../../local/postgres/server';
import { databaseNames, type Fingerprint, fingerprint } from '../local/postgres/fixtures';
import { type Ended, EmulatedAws } from './emulated-aws';
import { inspect, unusedGrants } from './inspect';
import { deployPostgresStack, expectAllowedAndNoPasswordLeaked, writeDuringDump } from './postgres-stack';
import { PG_SECRET } from './stacks';
import { IMAGE } from './world';

/*
 * database.kind postgres on emulated AWS (the `postgres` stack of stacks.ts): logical backups and restores by the
 * stack's ECS Fargate task, and the data-checks function's SQL gate, against a throwaway PostgreSQL on 127.0.0.1.
 *
 * moto cannot run containers. Its RunTask of the backup task's definition is bridged by moto/launch.py, which runs
 * the task the way ECS would, here: the containers' `secrets` are read from moto's Secrets Manager signed as the
 * task's execution role (a refusal stops the task with TaskFailedToStart); then each container's entry point and
 * command run as local processes sharing a temporary directory for the task's volume, with the task definition's
 * environment and RunTask's container override. The postgres container's `sh -c` sidecar script runs the tier's
 * pg_dump / pg_restore (the machine's, /usr/lib/postgresql/<major>/bin, for the postgres:17 image's); the Node container's `node -e`
 * bootstrap fetches the uploader bundle from cdk.out (uploaded as `cdk deploy` uploads file assets) out of moto's S3
 * and runs it, signing as the task role, with the project's AWS SDK standing in for the Lambda image's. The task stops
 * when the uploader exits, and DescribeTasks reports the containers' real exit codes. Not emulated: image pulls, CPU
 * and memory limits, awsvpc networking (the processes reach 127.0.0.1 directly), the awslogs driver (the containers'
 * output is kept for the tests instead), and the images' own file systems.
 *
 * The stack is deployed once for the file: the scenarios run in order against it, each leaving the lock released
 * and the database in a state the next one starts from (v1 at first, v2 from the first good deployment on).
 */
describe('the deployed runbook on emulated AWS: logical PostgreSQL backups by the ECS task, SQL checks', { timeout: 240_000 }, () => {
  const DATABASE = 'shop';
  let aws: EmulatedAws;
  let server: PostgresServer;
  let url: string;
  let password: string;

  async function setSecret(fields: Record<string, unknown>): Promise<void> {
    await new SecretsManagerClient(aws.operator.config).send(new PutSecretValueCommand({ SecretId: PG_SECRET, SecretString: JSON.stringify(fields) }));
  }

  const goodSecret = () => ({ host: '127.0.0.1', port: server.port, username: 'postgres', password, dbname: DATABASE });

  async function keys(prefix: string): Promise<string[]> {
    const listed = await aws.operator.s3.send(new ListObjectsV2Command({ Bucket: aws.stack.bucketName, Prefix: prefix }));
    return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
  }

  async function body(key: string): Promise<Buffer> {
    const response = await aws.operator.s3.send(new GetObjectCommand({ Bucket: aws.stack.bucketName, Key: key }));
    return Buffer.from(await response.Body!.transformToByteArray());
  }

  async function openUploads(): Promise<unknown[]> {
    return (await aws.operator.s3.send(new ListMultipartUploadsCommand({ Bucket: aws.stack.bucketName }))).Uploads ?? [];
  }

  /** Runs a deployment; `duringMigrations` is what its migration does to the data while the migration task runs. */
  async function deploy(version: string, duringMigrations?: () => Promise<unknown>): Promise<Ended> {
    const execution = await aws.startExecution({ action: 'deploy', version, image: IMAGE(version) });
    if (duringMigrations) {
      // The fake migration task runs 5 s (ecs.taskSeconds): the data changes after the backup, before the task ends.
      await aws.waitFor(execution, (states) => states.includes('StartMigrations'));
      await duringMigrations();
    }
    return aws.waitFor(execution);
  }

  /** The message of the error that ended an execution (its cause is the function's error as JSON). */
  function message(ended: Ended): string {
    try {
      return (JSON.parse(ended.cause ?? '') as { errorMessage: string }).errorMessage;
    } catch {
      return ended.cause ?? '';
    }
  }

  /** The evidence reports' JSON keys, oldest first by the order they appeared in. */
  const reportKeys = async () => (await keys('reports/shop/')).filter((key) => key.endsWith('.json'));

  beforeAll(async () => {
    ({ aws, server, url, password } = await deployPostgresStack(DATABASE));
    aws.app.versions = { v1: {}, v2: {}, v3: {}, v4: {}, v5: {} };
  }, 600_000);

  afterAll(async () => {
    await aws?.stop();
    await server?.stop();
  });

  afterEach(() => expectAllowedAndNoPasswordLeaked(aws, password));

  it('aborts before any backup when the connection secret lacks a field or the database cannot be reached, naming it; nothing is written under backups/', async () => {
    const { password: _left, ...withoutPassword } = goodSecret();
    await setSecret(withoutPassword);
    const incomplete = await deploy('v2');
    expect([incomplete.status, incomplete.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(message(incomplete)).toContain(`Secrets Manager secret '${PG_SECRET}' (database.connection) has no "password"`);

    const unreachable = 1; // nothing listens on port 1
    await setSecret({ ...goodSecret(), port: unreachable });
    const ended = await deploy('v2');
    expect([ended.status, ended.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(message(ended)).toContain(`postgres://postgres@127.0.0.1:${unreachable}/${DATABASE}`);
    expect(ended.cause).not.toContain(password);

    for (const run of [incomplete, ended]) {
      expect(run.states).not.toContain('TakeSnapshot');
      expect(run.states).not.toContain('Deploy');
    }
    expect(aws.allAuthorizations().filter((a) => a.action === 'ecs:RunTask')).toEqual([]);
    expect(await keys('backups/shop/')).toEqual([]);
    expect(await openUploads()).toEqual([]);
    expect(await inspect(aws).runningTag()).toBe('v1');
    expect((await inspect(aws).lock())?.state).toBe('released');
  });

  it('stores a verified dump in S3 before the deploy (multipart, sha256 as recorded, meta available, pg_restore --list) and deploys', async () => {
    await setSecret(goodSecret());

    const ended = await deploy('v2');

    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    const metaKeys = (await keys('backups/shop/')).filter((key) => key.endsWith('.meta.json'));
    expect(metaKeys).toHaveLength(1);
    const meta = JSON.parse((await body(metaKeys[0])).toString()) as { status: string; source: string; sha256: string; bytes: number; verification: string[] };
    expect(meta).toMatchObject({ status: 'available', source: DATABASE });
    expect(meta.verification).toEqual([
      `sha256 computed while streaming ${meta.bytes} bytes`,
      'S3 checked the SHA-256 of each of its 1 parts (object checksum not returned)',
      'pg_restore --list of the dump before the store committed it: 12 entries, 3 tables, 3 with data',
    ]);
    const dumpKey = metaKeys[0].replace(/\.meta\.json$/, '.dump');
    const dump = await body(dumpKey);
    expect(dump.length).toBe(meta.bytes);
    expect(createHash('sha256').update(dump).digest('hex')).toBe(meta.sha256);
    // The upload declared SHA-256 part checksums: the object's checksum is S3's composite of its one part's SHA-256.
    const checksummed = await aws.operator.s3.send(new HeadObjectCommand({ Bucket: aws.stack.bucketName, Key: dumpKey, ChecksumMode: 'ENABLED' }));
    const partDigest = createHash('sha256').update(dump).digest();
    // S3 suffixes a composite checksum with its part count; moto 5.2.1's HeadObject leaves the suffix out.
    expect([checksummed.ChecksumSHA256?.replace(/-1$/, ''), checksummed.ChecksumType]).toEqual([createHash('sha256').update(partDigest).digest('base64'), 'COMPOSITE']);
    // The stored object is a custom-format dump this machine's pg_restore lists, every table's data in it.
    const dir = mkdtempSync(join(tmpdir(), 'tier-dump-'));
    try {
      writeFileSync(join(dir, 'shop.dump'), dump);
      const listing = execFileSync(join(server.binDir, 'pg_restore'), ['--list', join(dir, 'shop.dump')], { encoding: 'utf8' });
      for (const table of ['customers', 'orders', 'settings']) expect(listing).toMatch(new RegExp(`TABLE DATA public ${table} `));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Uploaded in parts (a multipart upload's ETag ends with its part count), none left open.
    const head = await aws.operator.s3.send(new GetObjectCommand({ Bucket: aws.stack.bucketName, Key: dumpKey }));
    expect(head.ETag).toMatch(/-\d+"$/);
    expect(await openUploads()).toEqual([]);
    expect(ended.states.indexOf('CheckSnapshot')).toBeGreaterThan(-1);
    expect(ended.states.indexOf('CheckSnapshot')).toBeLessThan(ended.states.indexOf('Deploy'));
    // The task ran: ECS read its secret as the execution role, its containers signed as the task role.
    const byTask = (fragment: string) => aws.moto.authorizations().filter((a) => a.principal.includes(fragment));
    expect(byTask('TaskDefinitionExecutionRole').map((a) => a.action)).toEqual(['secretsmanager:GetSecretValue']);
    expect(new Set(byTask('TaskDefinitionTaskRole').map((a) => a.action))).toEqual(new Set(['s3:GetObject', 's3:PutObject']));
    expect(aws.moto.taskOutput().map((o) => o.line)).toEqual(expect.arrayContaining([expect.stringContaining('"message":"backup stored"')]));
    expect(await inspect(aws).runningTag()).toBe('v2');
  });

  /** The restore the rollback did: the data as it was backed up, the damaged database kept beside it. */
  async function expectRestored(before: Fingerprint, knownFailed: readonly string[]): Promise<string> {
    expect(await fingerprint(url)).toEqual(before);
    const failed = (await databaseNames(server)).filter((name) => new RegExp(`^${DATABASE}_failed_\\d{14}$`).test(name) && !knownFailed.includes(name));
    expect(failed).toHaveLength(1);
    return failed[0];
  }

  it('restores by rename-swap when the migrations fail (restorePolicy always): the data as backed up, the failed copy kept as it was', async () => {
    const before = await fingerprint(url);
    aws.setControl({ ecs: { taskSeconds: 5, taskExitCodes: { [IMAGE('v3')]: 3 } } });

    // What v3's migration did before it failed: deleted rows the restore must bring back.
    const ended = await deploy('v3', () => withClient(url, (client) => client.query('DELETE FROM orders WHERE id > 100')));

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toEqual(expect.arrayContaining(['AdvanceRestore', 'VerifyRestoredData']));
    const failed = await expectRestored(before, []);
    expect(message(ended)).toContain(failed);
    const kept = await fingerprint(withDatabase(server.url, failed));
    expect(kept.rows.orders).toBe(100);
    expect(await inspect(aws).runningTag()).toBe('v2');
    expect(aws.moto.taskOutput().map((o) => o.line)).toEqual(expect.arrayContaining([expect.stringContaining('"message":"restore restored"')]));
  });

  it('stops at the after-migrations SQL gate when the migration leaves orders without a status: DataCheckFailed, rolled back, data restored', async () => {
    const before = await fingerprint(url);
    const known = (await databaseNames(server)).filter((name) => name.startsWith(`${DATABASE}_failed_`));
    const reportsBefore = await reportKeys();
    aws.setControl({ ecs: { taskSeconds: 5, taskExitCodes: {} } });

    // v4's migration exits 0, its backfill short of 100 %: 200 orders left without a status.
    const ended = await deploy('v4', () =>
      withClient(url, (client) => client.query('ALTER TABLE orders ALTER COLUMN status DROP NOT NULL; UPDATE orders SET status = NULL WHERE id > 1000')),
    );

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'RolledBack']);
    expect(message(ended)).toContain(`DataCheckFailed: 1 of 1 SQL checks failed (after-migrations): 'every order has a status' returned "200", expected 0`);
    expect(ended.states).toEqual(expect.arrayContaining(['AfterMigrationChecks', 'AdvanceRestore', 'VerifyRestoredData']));
    expect(ended.states).not.toContain('SmokeTest');
    await expectRestored(before, known);
    expect(await inspect(aws).runningTag()).toBe('v2');
    // The evidence report has each phase's checks, judged against the real database.
    const added = (await reportKeys()).filter((key) => !reportsBefore.includes(key));
    expect(added).toHaveLength(1);
    type Phase = { phase: string; passed: boolean; results: { name: string; passed: boolean; value: unknown }[] };
    const report = JSON.parse((await body(added[0])).toString()) as { data: { checks: Phase[]; restoreComparison: unknown } };
    expect(report.data.checks.map((c) => [c.phase, c.passed, c.results.map((r) => [r.name, r.passed, r.value])])).toEqual([
      ['preflight', true, [['customers kept', true, '300']]],
      ['after-migrations', false, [['every order has a status', false, '200']]],
      ['after-restore', true, [['customers kept', true, '300']]],
    ]);
    expect(report.data.restoreComparison).toEqual({ identical: true, differences: [] });
  });

  // Leaves the lock stuck, as a failed rollback must: the last scenario that deploys.
  it('fails the rollback when the restored data does not match the fingerprint (rows written between it and the dump): RollbackFailed naming the table, failed database kept, notified, lock stuck', async () => {
    const known = (await databaseNames(server)).filter((name) => name.startsWith(`${DATABASE}_failed_`));
    const reportsBefore = await reportKeys();
    await aws.world.clearNotifications();
    aws.setControl({ ecs: { taskSeconds: 5, taskExitCodes: { [IMAGE('v5')]: 3 } } });
    // The app keeps taking orders while the backup runs: 3 land after FingerprintData counted 1200, before pg_dump.
    const restoreDump = writeDuringDump(aws, "INSERT INTO orders SELECT g, 1, 100, 'paid' FROM generate_series(1201, 1203) g");
    let ended: Ended;
    try {
      // v5's migration deletes orders, then fails: the rollback restores the dump, which holds the 3 late orders.
      ended = await deploy('v5', () => withClient(url, (client) => client.query('DELETE FROM orders WHERE id > 100')));
    } finally {
      restoreDump();
    }

    expect([ended.status, ended.error], ended.cause ?? '').toEqual(['FAILED', 'RollbackFailed']);
    const difference = 'orders: 1200 → 1203 rows';
    expect(message(ended)).toBe(`1 SQL check passed (after-restore); the restored data differs from the fingerprint recorded before the backup: ${difference}`);
    expect(ended.states).toEqual(expect.arrayContaining(['FingerprintData', 'TakeSnapshot', 'AdvanceRestore', 'VerifyRestoredData', 'RestoredDataDiffers', 'NotifyRollbackFailed', 'KeepLockForHuman', 'RecordRollbackFailure']));
    expect(ended.states).not.toContain('VerifyRollback');
    // The restore did run: the live database is the dump's data, 1203 orders, not the migration's 100 …
    expect(aws.moto.taskOutput().map((o) => o.line)).toEqual(expect.arrayContaining([expect.stringContaining('"message":"restore restored"')]));
    const live = await fingerprint(url);
    expect([live.rows.orders, live.rows.customers]).toEqual([1203, 300]);
    // … and the failed database is kept beside it as the migration left it.
    const failed = (await databaseNames(server)).filter((name) => new RegExp(`^${DATABASE}_failed_\\d{14}$`).test(name) && !known.includes(name));
    expect(failed).toHaveLength(1);
    expect((await fingerprint(withDatabase(server.url, failed[0]))).rows.orders).toBe(100);
    // The service went back to v2 before the restore (the rollback's first step).
    expect(await inspect(aws).runningTag()).toBe('v2');
    // A person is called and the lock stays with them.
    expect((await inspect(aws).lock())?.state).toBe('stuck');
    const notified = (await aws.world.notifications()).filter((n) => /rollback failed/i.test(n.subject ?? ''));
    expect(notified.map((n) => n.subject)).toEqual(['ACTION NEEDED: shop rollback failed']);
    expect(notified[0].message).toContain(difference);
    // The evidence report shows the comparison table by table.
    const added = (await reportKeys()).filter((key) => !reportsBefore.includes(key));
    expect(added).toHaveLength(1);
    const report = JSON.parse((await body(added[0])).toString()) as { data: { restoreComparison: unknown } };
    expect(report.data.restoreComparison).toEqual({ identical: false, differences: [difference] });
  });

  // Runs last: it reads what every scenario above was authorised to do.
  it('used every action the database roles are granted (the functions that connect, the task, its execution role): the grants are minimal', () => {
    const roles = ['database-snapshot', 'restore-database', 'data-checks', 'backup-task', 'backup-task-execution'];
    // ec2: the network interfaces Lambda makes for a function in a VPC, not calls of the function.
    const unused = unusedGrants(aws, aws.tier.templates.postgres, (role, action) => roles.includes(role) && !action.startsWith('ec2:'));
    expect(unused).toEqual([
      // Aborting a multipart upload: only a dump that fails mid-way does it (the failures here stop before any task).
      'backup-task s3:AbortMultipartUpload',
      // S3 answers 404 rather than 403 for a missing key only with ListBucket; moto answers 404 either way.
      'backup-task s3:ListBucket',
      // CDK's ecs.Secret.fromSecretsManager grants the execution role read access (GetSecretValue and DescribeSecret);
      // ECS injects a secret with GetSecretValue alone.
      'backup-task-execution secretsmanager:DescribeSecret',
      'database-snapshot s3:ListBucket',
      'restore-database s3:ListBucket',
    ]);
  });
});
