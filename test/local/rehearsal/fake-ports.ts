import type { DataFingerprint } from '../../../core/data-fingerprint';
import type { DatabaseInspector, QueryAnswer } from '../../../core/ports/database-inspector';
import { NO_METRICS } from '../../support/metric-queries';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { parseConfig } from '../../../config/load';
import type { RunbookConfig } from '../../../config/schema';
import { EnvSecretSource } from '../../../adapters/env-secret-source';
import type { AlarmSource } from '../../../core/ports/alarm-source';
import type { DatabaseBackups } from '../../../core/ports/database-backups';
import type { DatabaseRestorer, ScratchRestorer } from '../../../core/ports/database-restorer';
import type { DeployRequest, DeployTarget } from '../../../core/ports/deploy-target';
import type { Migrator } from '../../../core/ports/migrator';
import type { Notifier } from '../../../core/ports/notifier';
import type { AlarmState, DatabaseInfo, DeployedVersion, DeployHandle, MigrationsState, RestoreState, SnapshotRef } from '../../../core/model';
import { FileArtifactStore } from '../../../adapters/local/file-artifact-store';
import type { LocalPorts } from '../../../local/rehearsal/local-ports';
import { RecordingMetrics } from '../../core/tasks/ledger/fixtures';
import { storedDumpOf } from '../../support/builders';

const AT = '2025-03-04T10:00:00.000Z';

/** A deploy target that records what it was asked and answers at once. */
export class FakeTarget implements DeployTarget {
  readonly calls: string[] = [];
  running: DeployedVersion = { version: 'v1', image: null, ref: 'v1' };
  deployError: Error | null = null;

  async current(): Promise<DeployedVersion> {
    this.calls.push('current');
    return this.running;
  }

  async preflight() {
    this.calls.push('preflight');
    return [{ name: 'fake target', ok: true, detail: 'ready' }];
  }

  async deploy(request: DeployRequest): Promise<DeployHandle> {
    this.calls.push(`deploy ${request.version}`);
    if (this.deployError) throw this.deployError;
    return handleFor(request.version);
  }

  async rollback(to: DeployedVersion): Promise<DeployHandle> {
    this.calls.push(`rollback ${to.version}`);
    return handleFor(to.version ?? 'none');
  }

  async status(handle: DeployHandle) {
    this.calls.push(`status ${handle.version}`);
    return { status: 'completed' as const, detail: `${handle.version} runs`, checkedAt: AT };
  }
}

function handleFor(version: string): DeployHandle {
  return { kind: 'process', ref: version, version, image: null, deploymentId: `fake-${version}`, startedAt: AT };
}

const DATABASE: DatabaseInfo = { kind: 'postgres', identifier: 'demo_app', arn: null, engine: 'postgres', engineVersion: '15', status: 'available', encrypted: null, sizeBytes: 1024 };

/** Snapshots that are available as soon as they are created. */
export class FakeBackups implements DatabaseBackups {
  readonly created: string[] = [];
  private readonly snapshots = new Map<string, SnapshotRef>();

  async describe() {
    return DATABASE;
  }

  async quota() {
    return null;
  }

  async find(id: string) {
    return this.snapshots.get(id);
  }

  async create(id: string): Promise<SnapshotRef> {
    this.created.push(id);
    const snapshot = storedDumpOf(id, 'demo_app', { location: `backups/demo-app/${id}.dump`, checksum: 'abc', startedAt: AT, completedAt: AT });
    this.snapshots.set(id, snapshot);
    return snapshot;
  }

  async verify() {
    return ['fake: restorable'];
  }
}

/** A two-step rename-swap: `swap`, then `done`. */
export class FakeRestorer implements DatabaseRestorer, ScratchRestorer {
  readonly phases: (string | null)[] = [];
  /** The drill's calls, in order: `restore:<phase>` and `discard:<scratch>`. */
  readonly drill: string[] = [];

  async restoreScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    this.drill.push(`restore:${state?.phase ?? null}`);
    const phase = state === null ? 'restore' : 'done';
    return { restored: phase === 'done', decision: 'restoring', phase, failedCopy: null, scratch: 'demo_app_drill_20250304100000', snapshotId: snapshot.id, steps: [], startedAt: AT, finishedAt: null };
  }

  async discardScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    this.drill.push(`discard:${state?.scratch ?? null}`);
    return { restored: false, decision: 'restoring', phase: 'discarded', failedCopy: null, scratch: state?.scratch ?? null, snapshotId: snapshot.id, steps: [], startedAt: AT, finishedAt: AT };
  }

  async advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    this.phases.push(state?.phase ?? null);
    const phase = state === null ? 'swap' : 'done';
    return { restored: phase === 'done', decision: 'restoring', phase, failedCopy: 'demo_app_failed_20250304100000', snapshotId: snapshot.id, steps: [], startedAt: AT, finishedAt: null };
  }
}

export class FakeMigrator implements Migrator {
  readonly started: (string | null)[] = [];

  async start(release: DeployHandle): Promise<MigrationsState> {
    this.started.push(release.version);
    return { started: true, status: 'running', ref: 'fake-migration', startedAt: AT, finishedAt: null, detail: null };
  }

  async status(state: MigrationsState): Promise<MigrationsState> {
    return { ...state, status: 'succeeded', finishedAt: AT };
  }
}

/** Alarms that are OK until `fireAfter` readings were taken, then in ALARM. */
export class FakeAlarms implements AlarmSource {
  readings = 0;

  constructor(private readonly fireAfter = Number.POSITIVE_INFINITY) {}

  async states(names: readonly string[]): Promise<AlarmState[]> {
    this.readings += 1;
    const state = this.readings > this.fireAfter ? 'ALARM' : 'OK';
    return names.map((name) => ({ name, state, reason: null, updatedAt: AT }));
  }
}

export class FakeNotifier implements Notifier {
  readonly needsRecipients = false;
  readonly events: string[] = [];

  async publish(_recipients: unknown, _subject: string, _message: string, attributes: Record<string, string>): Promise<boolean> {
    this.events.push(attributes.event);
    return true;
  }
}

/** A rehearsal configuration whose smoke test asks `baseUrl` for /health, bake of two evaluations. */
export function fakeConfig(baseUrl: string): RunbookConfig {
  return parseConfig({
    name: 'demo-app',
    target: { kind: 'process', command: ['node', 'server.mjs'], port: 47800 },
    database: { kind: 'postgres', restoreApproval: { required: false } },
    migrations: { kind: 'command', command: 'node migrate.mjs {{version}}' },
    smokeTests: { baseUrl, checks: [{ name: 'health', path: '/health' }] },
    alarms: { kind: 'prometheus', metricsUrl: `${baseUrl}/metrics`, rules: [{ name: 'demo-app-5xx-ratio', metric: 'error-ratio', threshold: 0.01 }] },
    bake: { durationSeconds: 10, pollSeconds: 5 },
  });
}

/** A database whose data never changes: its fingerprint is the same before the backup and after a restore. */
export class FakeInspector implements DatabaseInspector {
  readonly description = 'postgres://demo@127.0.0.1/demo';
  readonly queries: string[] = [];
  async query(sql: string): Promise<QueryAnswer> {
    this.queries.push(sql);
    return { rowCount: 1, value: 0 };
  }
  async fingerprint(): Promise<DataFingerprint> {
    return { tables: { items: { rows: 3, md5: null } } };
  }
}

/** Fake ports over a FileArtifactStore in `storeDir`. */
export function fakePorts(storeDir: string, alarms = new FakeAlarms()) {
  const fakes = {
    target: new FakeTarget(),
    backups: new FakeBackups(),
    restorer: new FakeRestorer(),
    inspector: new FakeInspector(),
    migrator: new FakeMigrator(),
    alarms,
    notifier: new FakeNotifier(),
    metrics: new RecordingMetrics(),
  };
  const ports: LocalPorts = {
    ...fakes,
    store: new FileArtifactStore(storeDir),
    secrets: new EnvSecretSource({}),
    metricQuery: NO_METRICS,
    clock: { now: () => new Date(AT) },
  };
  return { ports, ...fakes };
}

/** An HTTP server on 127.0.0.1 answering 200 to everything, for the smoke tests; its base URL. */
export function useHealthyServer(): () => string {
  let server: Server | undefined;
  let url = '';
  beforeAll(async () => {
    server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"healthy"}'));
    await new Promise<void>((done) => server?.listen(0, '127.0.0.1', done));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((done) => server?.close(done));
  });
  return () => url;
}

/** A fresh store directory per call, all removed after the file. */
export function useTempDirs(): () => Promise<string> {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rehearsal-test-'));
    dirs.push(dir);
    return dir;
  };
}
