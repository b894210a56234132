import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { useEmulatedAws } from './emulated-aws';
import { attempts, inspect, unusedGrants } from './inspect';
import { ALARMS } from './stacks';
import { IMAGE } from './world';

// The synthesized stack (ECS + RDS instance) deployed into moto, run by moto's interpreter, every Task served by
// its bundle from cdk.out with its own role's credentials: one scenario per end state the README promises.
describe('the deployed runbook on emulated AWS (ECS service + RDS instance)', { timeout: 120_000 }, () => {
  // Deployed once: each scenario starts isolated on it (the bucket emptied, the alarms OK, the service on v1, RDS as
  // the world created it, no execution of an earlier scenario among its own: EmulatedAws.isolate). After each one,
  // every call of every function and of the state machine was allowed by its synthesized policy, and the smoke-test
  // password never left Secrets Manager (useEmulatedAws).
  const aws = useEmulatedAws({ stack: 'instance' });
  const deployV2 = { action: 'deploy', version: 'v2', image: IMAGE('v2'), requestedBy: 'ci' };

  it('deploys v2: snapshot, rollout, migrations, smoke tests, bake, release recorded, lock released', async () => {
    aws.app.versions = { v1: {}, v2: {} };
    const ended = await aws.run(deployV2);
    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    expect(ended.states).toEqual(expect.arrayContaining(['TakeSnapshot', 'RecordBackup', 'Deploy', 'StartMigrations', 'SmokeTest', 'EvaluateAlarms', 'RecordRelease']));
    const look = inspect(aws);
    expect(await look.runningTag()).toBe('v2');
    expect((await look.lock())?.state).toBe('released');
    expect((await look.ledger())?.current?.version).toBe('v2');
    expect(await look.manualSnapshots()).toEqual([expect.stringMatching(/^deploy-runbook-4-shop-/)]);
    expect(await look.keys()).toEqual(expect.arrayContaining([expect.stringMatching(/^reports\/shop\/.+\.json$/), expect.stringMatching(/^backups\/shop\/.+\.json$/)]));
    // The ledger read its execution's history (states:GetExecutionHistory on this state machine's executions) and
    // drew the path up to RecordRelease, the Task writing the report, into the report in S3.
    const report = await look.report();
    expect(report.states).toEqual([...new Set(ended.states.slice(0, ended.states.indexOf('RecordRelease') + 1))]);
    expect(report.markdown).toContain('## Path through the runbook');
    expect(report.markdown).toContain('```mermaid\nflowchart TD\n');
    const passed = /^ {2}class (\S+) passed$/m.exec(report.markdown)?.[1].split(',');
    expect(passed).toEqual(expect.arrayContaining(['n_ValidateInput', 'n_AcquireLock', 'n_Preflight', 'n_TakeSnapshot', 'n_RecordBackup', 'n_Deploy', 'n_StartMigrations', 'n_SmokeTest', 'n_EvaluateAlarms', 'n_RecordRelease']));
    expect(report.markdown).not.toMatch(/^ {2}class \S+ (failed|rollback)$/m);
    expect(aws.app.requests.filter((r) => r.path === '/health').map((r) => r.version)).toContain('v2');
    expect(JSON.stringify(ended.events)).not.toContain(aws.app.password);
    // The ledger's bundle writes the outcome as CloudWatch metrics (EMF), which the stack's dashboard shows.
    const emf = aws.host.logs.filter((l) => l.functionName.includes('LedgerFunction') && l.line.includes('"CloudWatchMetrics"')).map((l) => JSON.parse(l.line) as object);
    expect(emf).toContainEqual(expect.objectContaining({ Deployments: 1, Outcome: 'succeeded', Target: 'shop', service: 'deploy-runbook' }));
    expect(emf).toContainEqual(expect.objectContaining({ PhaseDuration: expect.any(Number), Phase: 'Bake', Target: 'shop' }));
  });

  it('fails InvalidInput on a bad version, before any lock, snapshot or deploy', async () => {
    const ended = await aws.run({ action: 'deploy', version: '../v2', image: IMAGE('v2') });
    expect([ended.status, ended.error]).toEqual(['FAILED', 'InvalidInput']);
    expect(ended.cause).toContain('version');
    expect(ended.states).not.toContain('AcquireLock');
    // The validator's bundle reports the routed error under its source name, not a minified one.
    expect(aws.host.invocations.map((i) => (i.result as { errorType?: string }).errorType)).toContain('InvalidInputError');
    const look = inspect(aws);
    expect(await look.lock()).toBeNull();
    expect(await look.manualSnapshots()).toEqual([]);
    expect(await look.runningTag()).toBe('v1');
  });

  it('fails DeploymentInProgress while another execution holds the target, which goes on to succeed', async () => {
    aws.app.versions = { v1: {}, v2: {}, v3: {} };
    const first = await aws.startExecution(deployV2);
    await aws.waitFor(first, (states) => states.includes('Preflight'));
    const second = await aws.run({ action: 'deploy', version: 'v3', image: IMAGE('v3') });
    expect([second.status, second.error]).toEqual(['FAILED', 'DeploymentInProgress']);
    expect(second.states).not.toContain('Preflight');
    expect(aws.reportedErrors()).toContain('DeploymentInProgressError');
    const ended = await aws.waitFor(first);
    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    expect(await inspect(aws).runningTag()).toBe('v2');
  });

  it('aborts before the deploy when the snapshot cannot be taken: DeploymentAborted, service untouched, lock released', async () => {
    aws.setControl({ faults: [{ service: 'rds', action: 'CreateDBSnapshot', error: 'SnapshotQuotaExceeded', message: 'quota of 100 reached', count: 1 }] });
    aws.app.versions = { v1: {}, v2: {} };
    const ended = await aws.run(deployV2);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(ended.cause).toContain('SnapshotQuotaExceeded');
    expect(ended.states).not.toContain('Deploy');
    const look = inspect(aws);
    expect(await look.runningTag()).toBe('v1');
    expect((await look.lock())?.state).toBe('released');
    // The start notification (sent once the lock is held, before the snapshot), then the abort.
    expect((await aws.world.notifications()).map((n) => n.subject)).toEqual(['shop: deploying v2', expect.stringMatching(/abort/i)]);
  });

  it('rolls back when a smoke test fails: v1 again, the database restored (migrations ran), the failed one kept', async () => {
    aws.app.versions = { v1: {}, v2: { healthStatus: 500 } };
    const ended = await aws.run(deployV2);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.cause).toMatch(/^Rolled back shop from v2 to v1 after SmokeTestFailed: 1 of 4 checks failed: health \(status 500, expected 200\)/);
    expect(ended.states).toEqual(expect.arrayContaining(['RollbackApp', 'AdvanceRestore', 'VerifyRollback', 'RecordRollback']));
    const look = inspect(aws);
    expect(await look.runningTag()).toBe('v1');
    const instances = await look.instances();
    expect(instances.map((i) => i.id).sort()).toEqual(['shop-db', expect.stringMatching(/^shop-db-failed-\d{14}$/)]);
    expect(Object.values(instances.find((i) => i.id === 'shop-db')?.tags ?? {})).toContain((await look.manualSnapshots())[0]);
    expect((await look.lock())?.state).toBe('released');
    expect(aws.app.requests.filter((r) => r.path === '/health').at(-1)?.version).toBe('v1');
  });

  it('rolls back when the migrations task exits non-zero, naming MigrationFailedError', async () => {
    aws.setControl({ ecs: { taskExitCodes: { [IMAGE('v2')]: 3 } } });
    aws.app.versions = { v1: {}, v2: {} };
    const ended = await aws.run(deployV2);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.cause).toMatch(/after MigrationFailedError: .*exited with code 3/);
    expect(ended.states).not.toContain('SmokeTest');
    expect(await inspect(aws).runningTag()).toBe('v1');
    expect((await inspect(aws).instances()).map((i) => i.id)).toContain('shop-db');
  });

  it('rolls back in the bake when v2 fires an alarm; the rollback the alarm rule starts finds the lock held and skips', async () => {
    aws.app.versions = { v1: {}, v2: { firesAlarms: [ALARMS[0]] } };
    const deployment = await aws.startExecution(deployV2);
    const ended = await aws.waitFor(deployment);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toContain('AlarmFired');
    expect(ended.cause).toContain(ALARMS[0]);
    const [fromRule] = await aws.ruleStarted([deployment]);
    const skipped = await aws.waitFor(fromRule);
    expect([skipped.status, skipped.end]).toEqual(['SUCCEEDED', 'SkippedLockHeld']);
    expect(await inspect(aws).runningTag()).toBe('v1');
  });

  it('retries unreadable alarm states during the bake, then fails closed and rolls back', async () => {
    // The first DescribeAlarms (Preflight's baseline) passes; every later one is refused. (A throttling fault
    // proves the same, but the SDK's own backoff makes each attempt last about ten seconds.)
    aws.setControl({ faults: [{ service: 'cloudwatch', action: 'DescribeAlarms', error: 'AccessDenied', message: 'reads blocked', skip: 1, count: 100 }] });
    aws.app.versions = { v1: {}, v2: {} };
    const ended = await aws.run(deployV2);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(attempts(ended.events, 'EvaluateAlarms')).toBe(4);
    expect(aws.reportedErrors().filter((e) => e === 'AlarmStateUnavailableError')).toHaveLength(4);
    expect(ended.cause).toContain('AlarmStateUnavailableError');
    expect(await inspect(aws).runningTag()).toBe('v1');
  });

  it('fails RollbackFailed when v1 cannot come back healthy either: notified, lock kept stuck', async () => {
    aws.app.versions = { v1: { healthStatus: 503 }, v2: { healthStatus: 500 } };
    const ended = await aws.run(deployV2);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RollbackFailed']);
    expect(ended.states).toEqual(expect.arrayContaining(['VerifyRollback', 'NotifyRollbackFailed', 'KeepLockForHuman']));
    expect((await inspect(aws).lock())?.state).toBe('stuck');
    expect((await aws.world.notifications()).map((n) => n.subject)).toContainEqual(expect.stringMatching(/rollback failed/i));
  });

  it('refuses an alarm rollback for an alarm in OK; rolls a release back when its alarm really fires inside the window, once: a second alarm needs no rollback', async () => {
    aws.app.versions = { v1: {}, v2: {} };
    const release = await aws.run(deployV2);
    expect(release.status).toBe('SUCCEEDED');
    const cloudwatch = new CloudWatchClient(aws.operator.config);
    const alarm = (state: 'OK' | 'ALARM') => cloudwatch.send(new SetAlarmStateCommand({ AlarmName: ALARMS[1], StateValue: state, StateReason: `p95 ${state}` }));
    // A caller who may start executions claims the alarm fired while it is OK: refused before anything is touched.
    const ledgerBefore = await inspect(aws).ledger();
    const lockBefore = await inspect(aws).lock();
    const forged = await aws.run({ action: 'rollback', alarm: { name: ALARMS[1], reason: 'Threshold Crossed (forged)', time: new Date().toISOString() } });
    expect([forged.status, forged.error]).toEqual(['FAILED', 'InvalidInput']);
    expect((JSON.parse(forged.cause ?? '{}') as { errorMessage: string }).errorMessage).toContain(`alarm.name: "${ALARMS[1]}" is in state OK since`);
    expect(forged.end).toBe('InvalidInput');
    expect(forged.states).not.toContain('AcquireLock');
    expect(await inspect(aws).ledger()).toEqual(ledgerBefore);
    expect(await inspect(aws).lock()).toEqual(lockBefore);
    expect(await inspect(aws).runningTag()).toBe('v2');

    const known = await aws.otherExecutions([]);
    await alarm('ALARM');
    const [rollback] = await aws.ruleStarted(known);
    const rolledBack = await aws.waitFor(rollback);
    expect([rolledBack.status, rolledBack.error]).toEqual(['FAILED', 'RolledBack']);
    expect(rolledBack.states).toContain('CheckRollbackWindow');
    // Hours after a release, a restore would discard every write since: without approval, none.
    expect(rolledBack.states).toContain('SkipRestore');
    expect(await inspect(aws).runningTag()).toBe('v1');
    await alarm('OK');
    await alarm('ALARM');
    const [again] = await aws.ruleStarted([...known, rollback]);
    const ended = await aws.waitFor(again);
    expect([ended.status, ended.end]).toEqual(['SUCCEEDED', 'NoRollbackNeeded']);
    expect(await inspect(aws).runningTag()).toBe('v1');
  });

  it('refuses to roll back to a task definition a changed ledger names: RollbackFailed, the service left as it was', async () => {
    aws.app.versions = { v1: {}, v2: {} };
    expect((await aws.run(deployV2)).status).toBe('SUCCEEDED');
    const ecs = new ECSClient(aws.operator.config);
    const foreign = await ecs.send(
      new RegisterTaskDefinitionCommand({ family: 'crypto-miner', containerDefinitions: [{ name: 'miner', image: 'evil.example.com/miner:1', memory: 512 }] }),
    );
    const ledger = (await aws.artifact<{ current: { previous: { ref: string } } }>('ledger/shop.json')) as { current: { previous: { ref: string } } };
    ledger.current.previous.ref = foreign.taskDefinition?.taskDefinitionArn ?? '';
    await aws.operator.s3.send(new PutObjectCommand({ Bucket: aws.stack.bucketName, Key: 'ledger/shop.json', Body: JSON.stringify(ledger) }));

    const known = await aws.otherExecutions([]);
    await new CloudWatchClient(aws.operator.config).send(new SetAlarmStateCommand({ AlarmName: ALARMS[0], StateValue: 'ALARM', StateReason: '5xx' }));
    const ended = await aws.waitFor((await aws.ruleStarted(known))[0]);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RollbackFailed']);
    expect(ended.cause).toContain('is not a revision of the service\'s task definition family shop-api');
    expect(await inspect(aws).runningTag()).toBe('v2');
    expect((await inspect(aws).lock())?.state).toBe('stuck');
  });

  // Runs last: it reads what every scenario above was authorised to do.
  it('used every action each role is granted, besides those these paths cannot reach: the policies are minimal', () => {
    expect(unusedGrants(aws, aws.tier.templates.instance)).toEqual([
      // S3 answers 404 rather than 403 for a missing key only with ListBucket; moto answers 404 either way.
      // Followed only for a service under ECS's BLUE_GREEN, LINEAR or CANARY strategy; moto 5.2.1 models rolling
      // services only (no DescribeServiceDeployments), so these stay proven by the adapter's exact-command tests.
      'deploy-target ecs:DescribeServiceDeployments',
      'deploy-target ecs:StopServiceDeployment',
      'deployment-lock s3:ListBucket',
      'ledger s3:ListBucket',
      // The start notification reads the ledger's past durations; the same 404-versus-403 grant as above.
      'notify s3:ListBucket',
    ]);
  });
});
