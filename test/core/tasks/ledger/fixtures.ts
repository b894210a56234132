import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exampleConfig from '../../../../config/example.json';
import { parseConfig } from '../../../../config/load';
import type { RunbookConfig } from '../../../../config/schema';
import type { Clock } from '../../../../core/ports/clock';
import type { MetricPoint, MetricsSink } from '../../../../core/ports/metrics';
import { deploymentFor as buildDeployment, executionNamed, STATE_MACHINE } from '../../../support/builders';
import type {
  BakeState,
  Deployment,
  DeployHandle,
  Execution,
  MigrationsState,
  Preflight,
  RestoreState,
  SmokeReport,
  SnapshotRef,
  LogicalCopy,
} from '../../../../core/model';
import { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import type { LedgerSlots } from '../../../../core/tasks/ledger/slots';

/**
 * Execution state of a realistic deployment of the example target (shop-api on ECS with RDS, as in the
 * seeds' runbooks: 5 smoke checks with a 500 ms budget, 5xx-rate and p95 alarms, a 30-minute bake).
 */
export const config: RunbookConfig = parseConfig(exampleConfig);

export { executionNamed, STATE_MACHINE };

/** A FileArtifactStore in a new temporary folder; a `beforeEach` returns `remove` so the folder goes after each test. */
export async function tempFileStore(prefix: string): Promise<{ store: FileArtifactStore; remove: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  return { store: new FileArtifactStore(root), remove: () => rm(root, { recursive: true, force: true }) };
}

/** A clock the test moves by hand. */
export function fixedClock(iso: string): Clock & { set(iso: string): void; advanceMinutes(minutes: number): void } {
  let now = new Date(iso);
  return {
    now: () => new Date(now),
    set: (next) => (now = new Date(next)),
    advanceMinutes: (minutes) => (now = new Date(now.getTime() + minutes * 60_000)),
  };
}

/** The example's deployment as the ledger tests know it: with the reason a person gave. */
export function deploymentFor(execution: Execution, overrides: Partial<Deployment> = {}): Deployment {
  return buildDeployment(execution, { reason: 'Release 1.4.2: checkout retries', ...overrides });
}

export const execution = executionNamed('deploy-v1-4-2');
export const deployment = deploymentFor(execution);

export const preflight: Preflight = {
  running: { version: 'v1.4.1', image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v1.4.1', ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:41' },
  baseline: {
    takenAt: '2025-03-04T10:00:05.000Z',
    alarms: [
      { name: 'shop-api-5xx-rate', state: 'OK', reason: null, updatedAt: '2025-03-04T08:00:00.000Z' },
      { name: 'shop-api-p95-latency', state: 'ALARM', reason: 'Threshold Crossed: p95 612 ms > 500 ms', updatedAt: '2025-03-04T09:40:00.000Z' },
    ],
    metrics: [],
  },
  database: {
    kind: 'rds-instance',
    identifier: 'shop-prod-db',
    arn: 'arn:aws:rds:eu-west-1:123456789012:db:shop-prod-db',
    engine: 'postgres',
    engineVersion: '16.4',
    status: 'available',
    encrypted: true,
    sizeBytes: 53_687_091_200,
  },
  checks: [
    { name: 'service stable', ok: true, detail: 'shop-api: 3/3 tasks running, one deployment' },
    { name: 'snapshot quota', ok: true, detail: '12 of 100 manual snapshots used' },
  ],
  checkedAt: '2025-03-04T10:00:06.000Z',
};

export const snapshot: SnapshotRef = {
  id: `deploy-runbook-shop-api-${deployment.id}`,
  arn: `arn:aws:rds:eu-west-1:123456789012:snapshot:deploy-runbook-shop-api-${deployment.id}`,
  kind: 'rds-instance',
  source: 'shop-prod-db',
  status: 'available',
  engine: 'postgres',
  encrypted: true,
  sizeBytes: 53_687_091_200,
  location: null,
  checksum: null,
  startedAt: '2025-03-04T10:00:10.000Z',
  completedAt: '2025-03-04T10:06:40.000Z',
  verification: ['encrypted with the source key', 'engine postgres 16.4 matches the source'],
};

/** The pg_dump beside the snapshot when `database.logicalBackup` is on. */
export const logicalCopy: LogicalCopy = {
  status: 'available',
  source: 'shop',
  location: `backups/shop-api/${snapshot.id}.dump`,
  checksum: 'c'.repeat(64),
  sizeBytes: 73_400_320,
  startedAt: '2025-03-04T10:05:00.000Z',
  completedAt: '2025-03-04T10:06:30.000Z',
  verification: ['pg_restore --list of the stored dump: 40 entries, 12 tables, 12 with data'],
};

export const release: DeployHandle = {
  kind: 'ecs',
  ref: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/shop-api:42',
  version: 'v1.4.2',
  image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:v1.4.2',
  deploymentId: 'ecs-svc/4410023857309841234',
  startedAt: '2025-03-04T10:07:00.000Z',
};

export const migrations: MigrationsState = {
  started: true,
  status: 'succeeded',
  ref: 'arn:aws:ecs:eu-west-1:123456789012:task/shop-prod/0f1e2d3c',
  startedAt: '2025-03-04T10:09:00.000Z',
  finishedAt: '2025-03-04T10:10:30.000Z',
  detail: 'exit code 0',
};

const smokeNames = ['health', 'database health', 'login', 'profile with token', 'protected without token'];

export function smokeReport(phase: 'deploy' | 'rollback', failing: string[] = []): SmokeReport {
  const results = smokeNames.map((name, i) => ({
    name,
    passed: !failing.includes(name),
    status: failing.includes(name) ? 503 : name === 'protected without token' ? 401 : 200,
    latencyMs: 40 + i * 25,
    attempts: failing.includes(name) ? 4 : 1,
    failures: failing.includes(name) ? ['expected status 200, got 503'] : [],
  }));
  const passed = results.filter((r) => r.passed).length;
  return {
    phase,
    passed: failing.length === 0,
    expectedVersion: phase === 'deploy' ? 'v1.4.2' : 'v1.4.1',
    summary: failing.length === 0 ? `${passed}/${results.length} checks passed` : `${failing.length} of ${results.length} checks failed: ${failing.join(', ')}`,
    results,
    startedAt: phase === 'deploy' ? '2025-03-04T10:11:00.000Z' : '2025-03-04T10:20:00.000Z',
    durationMs: 1830,
  };
}

export const bake: BakeState = {
  checks: 30,
  startedAt: '2025-03-04T10:12:00.000Z',
  decision: 'healthy',
  firing: [{ name: 'shop-api-p95-latency', state: 'ALARM', reason: 'Threshold Crossed: p95 612 ms > 500 ms', updatedAt: '2025-03-04T09:40:00.000Z' }],
  newlyFiring: [],
  firingAtBaseline: ['shop-api-p95-latency'],
  lastCheckedAt: '2025-03-04T10:42:00.000Z',
  analysis: [],
  reason: null,
};

export const restored: RestoreState = {
  restored: true,
  decision: 'restored',
  phase: 'done',
  failedCopy: 'shop-prod-db-failed-20250304101800',
  snapshotId: snapshot.id,
  steps: [
    { phase: 'rename-current', at: '2025-03-04T10:18:00.000Z', detail: 'shop-prod-db renamed to shop-prod-db-failed-20250304101800' },
    { phase: 'restore', at: '2025-03-04T10:19:00.000Z', detail: `restoring ${snapshot.id} as shop-prod-db` },
    { phase: 'done', at: '2025-03-04T10:31:00.000Z', detail: 'shop-prod-db available' },
  ],
  startedAt: '2025-03-04T10:18:00.000Z',
  finishedAt: '2025-03-04T10:31:00.000Z',
};

/** Every slot the ledger Tasks send, as `LoadConfig` initialises them. */
export function emptySlots() {
  return {
    config,
    deployment,
    execution,
    preflight: null,
    snapshot: null,
    backup: null,
    release: null,
    migrations: { started: false, status: 'not-run' },
    smoke: null,
    bake: null,
    error: null,
    rollbackTo: null,
    rollback: null,
    restore: null,
    approval: null,
    verify: null,
    rollbackError: null,
    window: null,
  };
}

/** The slots of a deployment that reached RecordRelease. */
export function releasedSlots() {
  return {
    ...emptySlots(),
    preflight,
    rollbackTo: preflight.running,
    snapshot,
    backup: {
      manifestKey: `backups/shop-api/${deployment.id}.json`,
      location: `s3://runbook-artifacts/backups/shop-api/${deployment.id}.json`,
      snapshotId: snapshot.id,
      recordedAt: '2025-03-04T10:06:45.000Z',
    },
    release,
    migrations,
    smoke: smokeReport('deploy'),
    bake,
  };
}

/** Keeps every metric point the ledger records, for a test to read. */
export class RecordingMetrics implements MetricsSink {
  readonly points: MetricPoint[] = [];
  record(points: readonly MetricPoint[]): void {
    this.points.push(...points);
  }
}

/** A deploy whose smoke tests failed, rolled back and restored: the slots RecordRollback gets. */
export function failedAfterSmoke(overrides: Partial<Record<keyof LedgerSlots, unknown>> = {}) {
  return {
    ...releasedSlots(),
    smoke: smokeReport('deploy', ['health']),
    bake: null,
    error: { Error: 'SmokeTestFailed', Cause: '1 of 5 checks failed: health' },
    rollback: { kind: 'ecs', ref: preflight.running.ref, version: 'v1.4.1', image: preflight.running.image, deploymentId: 'ecs-svc/2', startedAt: '2025-03-04T10:13:00.000Z' },
    restore: restored,
    verify: smokeReport('rollback'),
    ...overrides,
  };
}
