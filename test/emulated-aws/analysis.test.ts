import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakePrometheus, analysisWorld } from './analysis-world';
import { type Ended, EmulatedAws } from './emulated-aws';
import { grantedByRole, inspect, roleOfPrincipal } from './inspect';
import { IMAGE } from './world';

interface Baseline {
  readonly name: string;
  readonly value: number | null;
}
interface MetricRecord {
  readonly name: string;
  readonly baseline: number | null;
  readonly verdict: string;
  readonly measurements: readonly { readonly check: number; readonly value: number | null; readonly outcome: string; readonly detail: string | null }[];
}

// Analysis metrics on the deployed stack (issue 10): the synthesized definition and the cdk.out bundles of Preflight and
// EvaluateAlarms measure a CloudWatch metric-math ratio (GetMetricData), a Logs Insights count (StartQuery,
// GetQueryResults) and a Prometheus behind a bearer token from Secrets Manager, every call signed as the function's
// own role and checked against its synthesized policy. moto 5.2 evaluates neither metric math nor Logs Insights'
// filter and stats: moto/launch.py bridges both (see README, "The emulated-AWS tier").
describe('analysis metrics on emulated AWS (CloudWatch, Logs Insights, Prometheus)', { timeout: 120_000 }, () => {
  let aws: EmulatedAws;
  const prometheus = new FakePrometheus(() => aws.app.servingVersion());
  const deployV2 = { action: 'deploy', version: 'v2', image: IMAGE('v2'), requestedBy: 'ci' };
  /** The scenario's execution, read back with its history. */
  let last: Ended | undefined;
  const run = async (input: unknown) => (last = await aws.run(input));

  /** Deploys the analysis stack into a fresh moto with its world: p95 0.12 s on v1, traffic and INFO lines. */
  async function deploy(options: { logGroup?: boolean } = {}) {
    last = undefined;
    await aws.deploy('analysis');
    prometheus.queries.length = 0;
    prometheus.latency = { v1: 0.12 };
    const world = analysisWorld(aws);
    await world.create(prometheus, options);
    return world;
  }

  /** Deploys the stack and releases v2, which holds every metric (p95 0.13 s, 2 errors in 1500 requests). */
  async function releaseHealthyV2(): Promise<void> {
    const world = await deploy();
    prometheus.latency = { v1: 0.12, v2: 0.13 };
    aws.app.versions = { v1: {}, v2: { onServe: () => world.traffic(2, 1500) } };
    const released = await run(deployV2);
    expect([released.status, released.end], released.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
  }

  /** What a function returned, over this scenario's invocations. */
  const results = <T>(fn: string): T[] => aws.host.invocations.filter((i) => i.functionName.includes(fn) && !i.functionError).map((i) => i.result as T);
  const baselines = () => results<{ baseline: { metrics: Baseline[] } }>('PreflightFunction').at(-1)?.baseline.metrics ?? [];
  const records = () => results<{ analysis: MetricRecord[] }>('EvaluateAlarmsFunction').at(-1)?.analysis ?? [];
  const record = (name: string) => records().find((r) => r.name === name);

  /** Every report and ledger object the runbook wrote, as text. */
  async function stored(): Promise<string> {
    const { s3 } = aws.operator;
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: aws.stack.bucketName }));
    const bodies = await Promise.all(
      (listed.Contents ?? []).map(async (o) => (await s3.send(new GetObjectCommand({ Bucket: aws.stack.bucketName, Key: o.Key }))).Body?.transformToString() ?? ''),
    );
    return bodies.join('\n');
  }

  beforeAll(async () => {
    await prometheus.listen();
    aws = await EmulatedAws.start(FakePrometheus.hosts(prometheus));
  }, 300_000);

  afterAll(async () => {
    await Promise.allSettled([aws?.stop(), prometheus.close()]);
  });

  afterEach(async () => {
    // Every query was allowed by the function's synthesized policy, and the Prometheus token never left Secrets
    // Manager and the request header: not in the history (states' inputs and outputs, the execution's output or
    // cause), a log line, a function's result, a notification or the bucket.
    expect(aws.denied()).toEqual([]);
    expect(JSON.stringify(last?.events ?? [])).not.toContain(prometheus.token);
    expect(aws.host.logsContaining(prometheus.token)).toEqual([]);
    expect(JSON.stringify(aws.host.invocations)).not.toContain(prometheus.token);
    expect(JSON.stringify(await aws.world.notifications())).not.toContain(prometheus.token);
    expect(await stored()).not.toContain(prometheus.token);
  });

  it('keeps v2 when every metric holds: baselines before the deploy, two checkpoints in the bake, the token sent and never shown', async () => {
    const world = await deploy();
    prometheus.latency = { v1: 0.12, v2: 0.13 };
    aws.app.versions = { v1: {}, v2: { onServe: () => Promise.all([world.traffic(2, 1500), world.log(['INFO v2 started'])]).then(() => undefined) } };
    const ended = await run(deployV2);
    expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DeploymentSucceeded']);
    expect(await inspect(aws).runningTag()).toBe('v2');

    // Preflight measured each metric before anything changed: 1 of 1000 requests failed, no ERROR line, p95 0.12 s;
    // the managed workspace is out of the tier's reach and only a dry run.
    expect(baselines()).toEqual([
      expect.objectContaining({ name: 'error-rate', value: 0.001 }),
      expect.objectContaining({ name: 'error-lines', value: null }),
      expect.objectContaining({ name: 'p95-latency', value: 0.12 }),
      expect.objectContaining({ name: 'managed-p99', value: null }),
    ]);
    // Checkpoints '15s, 30s' with a 5 s poll: the third evaluation and the last. (1 + 2) / (1000 + 1500) = 0.0012.
    expect(record('error-rate')?.measurements.map((m) => [m.check, m.outcome])).toEqual([[3, 'success'], [6, 'success']]);
    expect(record('error-rate')?.measurements[0].value).toBeCloseTo(0.0012, 6);
    expect(record('error-lines')?.measurements.map((m) => [m.value, m.outcome])).toEqual([[null, 'success'], [null, 'success']]);
    expect(record('p95-latency')).toMatchObject({ baseline: 0.12, verdict: 'passing', measurements: [{ value: 0.13, outcome: 'success' }, { value: 0.13, outcome: 'success' }] });
    expect(record('managed-p99')?.measurements.map((m) => m.outcome)).toEqual(['error', 'error']);
    // Prometheus got the secret's token with every query: the baseline against v1, the checkpoints against v2.
    expect(prometheus.queries.map((q) => [q.version, q.authorized])).toEqual([['v1', true], ['v2', true], ['v2', true]]);
  });

  it('rolls back when v2 regresses on each provider in the bake, naming every metric that failed and why', async () => {
    const world = await deploy();
    // 80 more 5xx in 1000 requests (CloudWatch metric math), 12 ERROR lines (Logs Insights), p95 three times the
    // baseline yet under any absolute limit (Prometheus).
    prometheus.latency = { v1: 0.12, v2: 0.36 };
    const errors = Array.from({ length: 12 }, (_, i) => `ERROR payment provider timeout #${i}`);
    aws.app.versions = { v1: {}, v2: { onServe: () => Promise.all([world.traffic(80, 1000), world.log(errors)]).then(() => undefined) } };
    const ended = await run(deployV2);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'RolledBack']);
    expect(ended.states).toContain('AlarmFired');
    // Each metric is judged at the first checkpoint (the third evaluation): (1 + 80) / (1000 + 1000) = 0.0405.
    expect(ended.cause).toContain('after AlarmFired: Metric error-rate: 1 failed measurement(s), the last at check 3: 0.0405 meets the failure condition "result > 0.01"');
    expect(ended.cause).toContain('metric error-lines: 1 failed measurement(s), the last at check 3: 12 meets the failure condition "result > 5"');
    expect(ended.cause).toContain('metric p95-latency: 1 failed measurement(s), the last at check 3: 0.36 does not meet "result <= baseline * 1.5" (baseline 0.12, so <= 0.18)');
    // The dry-run metric failed too (its workspace is out of reach) and decides nothing.
    expect(ended.cause).not.toContain('managed-p99');
    expect(await inspect(aws).runningTag()).toBe('v1');
  });

  it('watches v2 after the release without the lock: a checkpoint that holds keeps it, one that regresses rolls it back once', async () => {
    await releaseHealthyV2();

    // What the schedule sends every hour, started here directly (the tier runs no schedule: moto/launch.py).
    const passed = await run({ action: 'watch', requestedBy: 'post-release watch schedule' });
    expect([passed.status, passed.end], passed.cause ?? '').toEqual(['SUCCEEDED', 'WatchPassed']);
    expect(passed.states).not.toContain('AcquireLock');
    expect(await inspect(aws).runningTag()).toBe('v2');

    // Hours later p95 is three times the baseline Preflight took before v2: the checkpoint fails and rolls back.
    prometheus.latency = { v1: 0.12, v2: 0.36 };
    const failed = await run({ action: 'watch', requestedBy: 'post-release watch schedule' });
    expect([failed.status, failed.error], failed.cause ?? failed.end).toEqual(['FAILED', 'RolledBack']);
    expect(failed.states).toEqual(expect.arrayContaining(['CheckWatch', 'MeasureWatchCheckpoint', 'RecordWatchCheckpoint', 'AcquireLock', 'CheckRollbackWindow', 'RollbackApp']));
    expect(failed.cause).toContain('after WatchCheckpointFailed: Watch checkpoint 2 of release v2');
    expect(failed.cause).toContain('Metric p95-latency: 1 failed measurement(s), the last at check 2: 0.36 does not meet "result <= baseline * 1.5" (baseline 0.12, so <= 0.18)');
    expect(await inspect(aws).runningTag()).toBe('v1');

    const ledger = await aws.artifact<{ checkpoints: { checkpoint: number; decision: string; releaseId: string }[]; current: { version: string } }>('ledger/shop.json');
    expect(ledger?.checkpoints.map((c) => [c.checkpoint, c.decision])).toEqual([[1, 'passed'], [2, 'failed']]);
    expect(ledger?.current.version).toBe('v1');
    // The watch of v2 is over: the next checkpoint finds it rolled back and measures nothing.
    const after = await run({ action: 'watch', requestedBy: 'post-release watch schedule' });
    expect([after.status, after.end]).toEqual(['SUCCEEDED', 'WatchNotNeeded']);
    expect((await inspect(aws).lock())?.state).toBe('released');
  });

  it("measures the release once for a plan's analysis gate ({action: analyze}): passes, fails naming the metric, never locks, records or rolls back", async () => {
    await releaseHealthyV2();
    const ledger = () => aws.artifact<unknown>('ledger/shop.json');
    const ledgerAfterRelease = await ledger();

    // What a release plan's analysis gate starts as a child execution, started here directly.
    const passed = await run({ action: 'analyze', requestedBy: 'release plan' });
    expect([passed.status, passed.end], passed.cause ?? '').toEqual(['SUCCEEDED', 'AnalysisPassed']);
    expect(passed.states).toEqual(expect.arrayContaining(['CheckAnalysis', 'MeasureAnalysis']));
    expect(passed.states).not.toContain('AcquireLock');

    // p95 three times the baseline Preflight kept with v2's release: the gate fails, naming it; v2 stays.
    prometheus.latency = { v1: 0.12, v2: 0.36 };
    prometheus.queries.length = 0;
    const failed = await run({ action: 'analyze', metrics: ['p95-latency'], requestedBy: 'release plan' });
    expect([failed.status, failed.error], failed.cause ?? failed.end).toEqual(['FAILED', 'AnalysisFailed']);
    expect(failed.cause).toContain('Metric p95-latency: 1 failed measurement(s)');
    expect(failed.cause).toContain('0.36 does not meet "result <= baseline * 1.5" (baseline 0.12, so <= 0.18)');
    expect(failed.cause).not.toContain('error-rate');
    expect(prometheus.queries.map((q) => [q.version, q.authorized])).toEqual([['v2', true]]);
    for (const state of ['AcquireLock', 'RollbackApp', 'RecordWatchCheckpoint']) expect(failed.states).not.toContain(state);
    expect(await inspect(aws).runningTag()).toBe('v2');
    expect((await inspect(aws).lock())?.state).toBe('released');
    expect(await ledger()).toEqual(ledgerAfterRelease);

    // A metric the runbook does not have is refused before anything is measured.
    prometheus.queries.length = 0;
    const refused = await run({ action: 'analyze', metrics: ['p59-latency'], requestedBy: 'release plan' });
    expect([refused.status, refused.error]).toEqual(['FAILED', 'InvalidInput']);
    expect(refused.cause).toContain("metrics[0]: it names no metric of this runbook");
    expect(refused.states).not.toContain('MeasureAnalysis');
    expect(prometheus.queries).toEqual([]);
  });

  it('aborts before anything changes when a metric query is refused (Logs Insights: unknown log group), naming the metric and the error', async () => {
    await deploy({ logGroup: false });
    aws.app.versions = { v1: {}, v2: {} };
    const ended = await run(deployV2);
    expect([ended.status, ended.error]).toEqual(['FAILED', 'DeploymentAborted']);
    expect(ended.cause).toContain('metric error-lines: the logs query failed: CloudWatch Logs StartQuery failed: ResourceNotFoundException: The specified log group does not exist.');
    expect(ended.states).not.toContain('TakeSnapshot');
    expect(ended.states).not.toContain('Deploy');
    const calls = aws.moto.authorizations().map((record) => record.action);
    expect(calls).toContain('logs:StartQuery');
    expect(calls).not.toContain('rds:CreateDBSnapshot');
    expect(calls).not.toContain('ecs:UpdateService');
    const look = inspect(aws);
    expect(await look.manualSnapshots()).toEqual([]);
    expect(await look.runningTag()).toBe('v1');
    expect((await look.lock())?.state).toBe('released');
  });

  // Runs last: it reads what every scenario above was authorised to do.
  it('used every action the analysis adds to a role, besides those the tier cannot reach', () => {
    const used = new Set(aws.allAuthorizations().filter((r) => r.allowed).map((r) => `${roleOfPrincipal(r.principal)} ${r.action}`));
    const without = grantedByRole(aws.tier.templates.instance);
    const added: string[] = [];
    for (const [role, actions] of grantedByRole(aws.tier.templates.analysis)) {
      for (const action of actions) if (!without.get(role)?.has(action)) added.push(`${role} ${action}`);
    }
    expect(added.sort()).toEqual([
      'evaluate-alarms aps:QueryMetrics',
      'evaluate-alarms cloudwatch:GetMetricData',
      'evaluate-alarms logs:GetQueryResults',
      'evaluate-alarms logs:StartQuery',
      'evaluate-alarms logs:StopQuery',
      'evaluate-alarms secretsmanager:GetSecretValue',
      'preflight aps:QueryMetrics',
      'preflight cloudwatch:GetMetricData',
      'preflight logs:GetQueryResults',
      'preflight logs:StartQuery',
      'preflight logs:StopQuery',
    ]);
    expect(added.filter((grant) => !used.has(grant)).sort()).toEqual([
      // A signed query goes to aps-workspaces.<region>.amazonaws.com over TLS, which moto does not serve: the dry-run
      // metric's queries fail to connect, before any authorisation.
      'evaluate-alarms aps:QueryMetrics',
      // Only a query still running after 30 s is stopped; queries here complete at once.
      'evaluate-alarms logs:StopQuery',
      'preflight aps:QueryMetrics',
      'preflight logs:StopQuery',
    ]);
  });
});
