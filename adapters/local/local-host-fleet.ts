import { setTimeout as sleep } from 'node:timers/promises';
import type { TargetConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { HostAction, HostFleet, HostResult, HostRunKey, HostVersion } from '../../core/ports/host-fleet';
import type { DeployHandle } from '../../core/model';
import { ProcessTarget } from './process-target';

export type HostsTargetConfig = Extract<TargetConfig, { kind: 'hosts' }>;

export interface LocalHostFleetOptions {
  /** The environment every host's process starts with (the rehearsal adds DATABASE_URL and the scenario's faults). */
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
  readonly clock?: Clock;
  /** How long a host may take to answer its ready path after a start. @default 15000 */
  readonly readyTimeoutMs?: number;
}

/** How often a ready check asks again. */
const READY_POLL_MS = 100;

/**
 * The rehearsal's counterpart of the ssm-hosts fleet (`target.kind: "hosts"`): each host is a local process of the
 * app on its own port, started with `HOST_NAME` and `PORT` set. A step runs in the background, as SSM runs a command,
 * and its results are read by key; the batching and rollback around it are the same core code as on AWS.
 */
export class LocalHostFleet implements HostFleet {
  readonly description: string;
  readonly checksReadiness = true;
  private readonly processes = new Map<string, ProcessTarget>();
  /** What each host last started: the ready check asks about it. */
  private readonly lastStart = new Map<string, DeployHandle>();
  private readonly steps = new Map<string, Map<string, HostResult>>();
  private readonly history = new Map<string, string[]>();

  constructor(
    private readonly config: HostsTargetConfig,
    private readonly options: LocalHostFleetOptions = {},
  ) {
    this.description = `local processes ${config.hosts.map((host) => `${host.name} on port ${host.port}`).join(', ')}`;
    for (const host of config.hosts) {
      const target = new ProcessTarget(
        { kind: 'process', command: config.command, port: host.port, readyPath: config.readyPath, env: { ...config.env, HOST_NAME: host.name }, cwd: config.cwd },
        { env: options.env, log: options.log && ((line) => options.log?.(`[${host.name}] ${line}`)), clock: options.clock ?? systemClock, readyTimeoutMs: 0 },
      );
      this.processes.set(host.name, target);
    }
  }

  async hosts(): Promise<string[]> {
    return this.config.hosts.map((host) => host.name);
  }

  async versions(hosts: readonly string[]): Promise<HostVersion[]> {
    return Promise.all(
      hosts.map(async (host) => {
        const { version } = await this.process(host).current();
        return { host, version, detail: version === null ? 'no process of the app runs there' : `runs ${version}` };
      }),
    );
  }

  async start(key: HostRunKey, hosts: readonly string[], action: HostAction): Promise<void> {
    const id = keyOf(key);
    if (this.steps.has(id)) return;
    const results = new Map(hosts.map((host): [string, HostResult] => [host, { host, state: 'pending', detail: 'started' }]));
    this.steps.set(id, results);
    for (const host of hosts) {
      const run = action.kind === 'ready' ? this.ready(host, action.version) : this.install(host, action.version, action.image, id);
      void run.then((result) => results.set(host, result));
    }
  }

  async results(key: HostRunKey, hosts: readonly string[]): Promise<HostResult[] | null> {
    const results = this.steps.get(keyOf(key));
    if (!results) return null;
    return hosts.map((host) => results.get(host) ?? { host, state: 'failed', detail: 'this step was not started on it' });
  }

  /** Stops every process the hosts started: the rehearsal's cleanup. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.processes.values()].map((target) => target.stopAll()));
  }

  /** Leaves each host's running version up after this process exits (`rehearse --keep`). */
  release(): { host: string; version: string; pid: number | undefined }[] {
    return [...this.processes].flatMap(([host, target]) => {
      const kept = target.release();
      return kept ? [{ host, ...kept }] : [];
    });
  }

  /** The versions each host was started with, in order: what the rehearsal's checks read to tell an untouched host. */
  starts(): Record<string, string[]> {
    return Object.fromEntries(this.config.hosts.map((host) => [host.name, [...(this.history.get(host.name) ?? [])]]));
  }

  private async install(host: string, version: string, image: string | null, id: string): Promise<HostResult> {
    this.history.set(host, [...(this.history.get(host) ?? []), version]);
    try {
      this.lastStart.set(host, await this.process(host).deploy({ version, image, deploymentId: id }));
      return { host, state: 'succeeded', detail: `started ${version}` };
    } catch (error) {
      return { host, state: 'failed', detail: (error as Error).message };
    }
  }

  /** Succeeds once the host's process answers its ready path, fails when it exits or the time is up. */
  private async ready(host: string, version: string): Promise<HostResult> {
    const handle = this.lastStart.get(host);
    if (!handle || handle.version !== version) return { host, state: 'failed', detail: `${version} was not started on ${host}` };
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 15_000);
    try {
      for (;;) {
        const status = await this.process(host).status(handle);
        if (status.status === 'completed') return { host, state: 'succeeded', detail: status.detail };
        if (Date.now() >= deadline) return { host, state: 'failed', detail: `${status.detail} after ${this.options.readyTimeoutMs ?? 15_000} ms` };
        await sleep(READY_POLL_MS);
      }
    } catch (error) {
      return { host, state: 'failed', detail: (error as Error).message };
    }
  }

  private process(host: string): ProcessTarget {
    const target = this.processes.get(host);
    if (!target) throw new Error(`no host named ${host} in target.hosts`);
    return target;
  }
}

function keyOf(key: HostRunKey): string {
  return `${key.operation} ${key.step} ${key.batch}`;
}
