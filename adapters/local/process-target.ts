import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TargetConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { DeployRequest, DeployTarget } from '../../core/ports/deploy-target';
import { DeploymentFailedError } from '../../core/errors';
import type { DeployedVersion, DeployHandle, DeployStatus, PreflightCheck } from '../../core/model';
import { type ChildExit, ChildRun, describeExit } from './child-run';
import { answersOk } from './http-probe';

export type ProcessTargetConfig = Extract<TargetConfig, { kind: 'process' }>;

export interface ProcessTargetOptions {
  /**
   * The environment every version starts with (the rehearsal adds DATABASE_URL). It is read at each start,
   * so a change to this object applies to the versions started after it. @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives the processes' output, one line at a time, prefixed with the version. */
  readonly log?: (line: string) => void;
  readonly clock?: Clock;
  /** Where the process listens. @default '127.0.0.1' */
  readonly host?: string;
  /** How long `deploy` and `rollback` wait for the new process to answer before returning. @default 15000 */
  readonly readyTimeoutMs?: number;
  /** How long one `status` call waits for an answer before reporting `in-progress`. @default 2000 */
  readonly statusWaitMs?: number;
  /** Grace between SIGTERM and SIGKILL when a version is replaced. @default 5000 */
  readonly stopTimeoutMs?: number;
}

interface Started {
  readonly version: string;
  readonly image: string | null;
  readonly run: ChildRun;
  /** Set when we stopped it on purpose, so a status check can say why it is gone. */
  replacedBy: string | null;
}

/** The handle of a rollback to "nothing was running": it completes at once. */
const NOTHING = 'none';
const PROBE_INTERVAL_MS = 100;

/**
 * Rehearsal target: one local HTTP process (the demo app) per version, restarted on the configured port.
 * One instance serves a whole rehearsal: it owns the process it started and remembers what ran before.
 */
export class ProcessTarget implements DeployTarget {
  private running: Started | null = null;
  private previous: DeployedVersion | null = null;
  private readonly started = new Map<string, Started>();
  private sequence = 0;
  private readonly host: string;
  private readonly clock: Clock;

  constructor(
    private readonly config: ProcessTargetConfig,
    private readonly options: ProcessTargetOptions = {},
  ) {
    this.host = options.host ?? '127.0.0.1';
    this.clock = options.clock ?? systemClock;
  }

  async current(): Promise<DeployedVersion> {
    return this.running ? versionOf(this.running) : { version: null, image: null, ref: NOTHING };
  }

  async preflight(): Promise<PreflightCheck[]> {
    const port = this.config.port;
    if (!this.running) {
      const taken = await portAnswers(this.host, port);
      return [
        taken
          ? { name: 'port', ok: false, detail: `port ${port} on ${this.host} is in use by a process this rehearsal did not start` }
          : { name: 'port', ok: true, detail: `port ${port} on ${this.host} is free (nothing deployed yet)` },
      ];
    }
    const { version, run } = this.running;
    const ready = (await this.waitReady(run, this.options.statusWaitMs ?? 2000)) === 'ready';
    return [
      {
        name: 'running version',
        ok: ready,
        detail: ready ? `${version} (pid ${run.pid}) answers ${this.config.readyPath} on port ${port}` : `${version} (pid ${run.pid}) does not answer ${this.config.readyPath} on port ${port}`,
      },
    ];
  }

  async deploy(request: DeployRequest): Promise<DeployHandle> {
    this.previous = this.running ? versionOf(this.running) : null;
    await this.stopRunning(request.version);
    return this.start(request.version, request.image);
  }

  /** Restarts `to`; when `to` names no version, the version that ran before the last deploy. */
  async rollback(to: DeployedVersion): Promise<DeployHandle> {
    const version = to.version ?? this.previous?.version ?? null;
    const image = to.version ? to.image : (this.previous?.image ?? null);
    await this.stopRunning(version ?? NOTHING);
    if (version === null) {
      // Nothing ran before the deploy: undoing it means stopping what it started.
      return { kind: 'process', ref: NOTHING, version: null, image: null, deploymentId: null, startedAt: this.clock.now().toISOString() };
    }
    return this.start(version, image);
  }

  async status(handle: DeployHandle): Promise<DeployStatus> {
    const checkedAt = () => this.clock.now().toISOString();
    if (handle.ref === NOTHING && handle.version === null) {
      return { status: 'completed', detail: 'nothing runs: no version ran before the deploy', checkedAt: checkedAt() };
    }
    const entry = handle.deploymentId ? this.started.get(handle.deploymentId) : undefined;
    if (!entry) {
      throw new DeploymentFailedError(`the process target did not start deployment ${handle.deploymentId} (version ${handle.version}): it has no process to check`);
    }
    const outcome = await this.waitReady(entry.run, this.options.statusWaitMs ?? 2000);
    const exit = entry.run.exit();
    if (exit) throw this.exitedError(entry, exit);
    if (outcome === 'ready') {
      return { status: 'completed', detail: `${entry.version} (pid ${entry.run.pid}) answers ${this.config.readyPath} on port ${this.config.port}`, checkedAt: checkedAt() };
    }
    return { status: 'in-progress', detail: `${entry.version} (pid ${entry.run.pid}) does not answer ${this.config.readyPath} yet`, checkedAt: checkedAt() };
  }

  /** Stops every process this target started: the rehearsal's cleanup. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.started.values()].map((entry) => entry.run.stop(this.options.stopTimeoutMs ?? 5000)));
    this.running = null;
  }

  /** Leaves the running version up after this process exits (`rehearse --keep`); returns it, or null when nothing runs. */
  release(): { version: string; pid: number | undefined } | null {
    const current = this.running;
    if (!current || current.run.exit()) return null;
    current.run.release();
    return { version: current.version, pid: current.run.pid };
  }

  private async start(version: string, image: string | null): Promise<DeployHandle> {
    const argv = this.config.command.map((arg) => arg.replaceAll('{{version}}', version));
    const run = new ChildRun(argv.join(' '), argv[0], argv.slice(1), {
      cwd: this.config.cwd,
      env: { ...(this.options.env ?? process.env), ...this.config.env, APP_VERSION: version, PORT: String(this.config.port) },
      label: version,
      log: this.options.log,
    });
    const deploymentId = `process-${++this.sequence}`;
    const entry: Started = { version, image, run, replacedBy: null };
    this.started.set(deploymentId, entry);
    this.running = entry;
    const startedAt = this.clock.now().toISOString();
    // Returning once it answers (or gave up) keeps the status loop short; the status check decides.
    await this.waitReady(run, this.options.readyTimeoutMs ?? 15_000);
    return { kind: 'process', ref: version, version, image, deploymentId, startedAt };
  }

  private async stopRunning(replacement: string): Promise<void> {
    const current = this.running;
    if (!current) return;
    current.replacedBy = replacement;
    this.running = null;
    await current.run.stop(this.options.stopTimeoutMs ?? 5000);
  }

  /** Polls the ready path until it answers 2xx, the process exits, or `timeoutMs` passes. */
  private async waitReady(run: ChildRun, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (run.exit()) return 'exited';
      if (await answersOk(`http://${this.host}:${this.config.port}${this.config.readyPath}`)) return 'ready';
      if (Date.now() >= deadline) return 'timeout';
      await Promise.race([sleep(PROBE_INTERVAL_MS), run.exited]);
    }
  }

  private exitedError(entry: Started, exit: ChildExit): DeploymentFailedError {
    const why = entry.replacedBy !== null ? `was stopped when ${entry.replacedBy} replaced it` : describeExit(exit);
    const stderr = entry.run.stderrTail(8);
    return new DeploymentFailedError(`${entry.version} (${entry.run.description}) ${why}${stderr ? `; stderr:\n${stderr}` : ''}`);
  }
}

function versionOf(started: Started): DeployedVersion {
  return { version: started.version, image: started.image, ref: started.version };
}

function portAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
