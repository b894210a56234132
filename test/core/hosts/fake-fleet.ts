import type { HostAction, HostFleet, HostResult, HostRunKey, HostVersion } from '../../../core/ports/host-fleet';

/** One step started on the fake fleet. */
export interface Started {
  readonly key: HostRunKey;
  readonly hosts: readonly string[];
  readonly action: HostAction;
}

/**
 * A fleet in memory: what `start` was asked, and results decided by `outcome` for each host of a started step
 * (pending until `complete` is called for that step, when `pendingFirst`).
 */
export class FakeFleet implements HostFleet {
  readonly description = 'instances tagged app=shop-api';
  readonly started: Started[] = [];
  running: Record<string, string | null>;

  constructor(
    private readonly fleet: string[],
    private readonly outcome: (host: string, started: Started) => 'succeeded' | 'failed' = () => 'succeeded',
    readonly checksReadiness = true,
    version = 'v1.4.2',
  ) {
    this.running = Object.fromEntries(fleet.map((host) => [host, version]));
  }

  async hosts(): Promise<string[]> {
    return [...this.fleet];
  }

  async versions(hosts: readonly string[]): Promise<HostVersion[]> {
    return hosts.map((host) => ({ host, version: this.running[host], detail: this.running[host] === null ? 'exit 127: command not found' : `runs ${this.running[host]}` }));
  }

  async start(key: HostRunKey, hosts: readonly string[], action: HostAction): Promise<void> {
    if (this.find(key)) return;
    const started = { key, hosts: [...hosts], action };
    this.started.push(started);
    if (action.kind !== 'ready') for (const host of hosts) if (this.outcome(host, started) === 'succeeded') this.running[host] = action.version;
  }

  async results(key: HostRunKey, hosts: readonly string[]): Promise<HostResult[] | null> {
    const started = this.find(key);
    if (!started) return null;
    return hosts.map((host) => {
      const state = this.outcome(host, started);
      return { host, state, detail: state === 'failed' ? 'exit 1: curl: (7) Failed to connect to 127.0.0.1 port 3000 DB_PASSWORD=hunter2-very-secret' : 'ok' };
    });
  }

  /** The steps started, as `<kind> <batch> <hosts>` lines, in order. */
  steps(): string[] {
    return this.started.map((step) => `${step.action.kind} ${step.key.batch} ${step.hosts.join(',')}`);
  }

  private find(key: HostRunKey): Started | undefined {
    return this.started.find((step) => step.key.operation === key.operation && step.key.step === key.step && step.key.batch === key.batch);
  }
}
