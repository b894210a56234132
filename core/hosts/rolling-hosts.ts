import { createHash } from 'node:crypto';
import type { Clock } from '../ports/clock';
import type { DeployRequest, DeployTarget } from '../ports/deploy-target';
import type { HostAction, HostFleet, HostResult, HostRunKey, HostStep } from '../ports/host-fleet';
import { DeploymentFailedError, PreflightFailedError } from '../errors';
import type { DeployedVersion, DeployHandle, DeployStatus, HostOutcome, PreflightCheck } from '../model';
import { outputExcerpt } from './host-output';

/** How the fleet is rolled: `target.maxConcurrency` and `target.maxErrors`. */
export interface RollingOptions {
  /** The handle kind: `ssm-hosts` on AWS, `hosts` in a rehearsal. */
  readonly kind: 'ssm-hosts' | 'hosts';
  /** Hosts per batch: a count, or a percentage of the fleet such as `25%`. */
  readonly maxConcurrency: number | string;
  /** Failed hosts tolerated over the whole rollout; one more stops it. */
  readonly maxErrors: number;
}

/** What a handle's `ref` holds: whether it deploys or rolls back, and its batches of hosts in order. */
export interface RolloutPlan {
  readonly phase: 'deploy' | 'rollback';
  readonly batches: readonly (readonly string[])[];
}

/** Hosts in one batch: a count as given, a percentage of the fleet rounded up; at least one. */
export function batchSize(maxConcurrency: number | string, fleet: number): number {
  if (typeof maxConcurrency === 'number') return maxConcurrency;
  return Math.max(1, Math.ceil((fleet * Number.parseInt(maxConcurrency, 10)) / 100));
}

/** `hosts` cut into batches of `size`, in order. */
export function batchesOf(hosts: readonly string[], size: number): string[][] {
  const batches: string[][] = [];
  for (let at = 0; at < hosts.length; at += size) batches.push(hosts.slice(at, at + size));
  return batches;
}

/** `deploy:i-1,i-2;i-3`: host names hold none of `: ; ,` (instance ids, the rehearsal's identifiers). */
export function encodePlan(plan: RolloutPlan): string {
  return `${plan.phase}:${plan.batches.map((batch) => batch.join(',')).join(';')}`;
}

export function decodePlan(ref: string): RolloutPlan {
  const match = /^(deploy|rollback):(.*)$/.exec(ref);
  if (!match) throw new DeploymentFailedError(`the handle's ref is not a hosts rollout plan (got "${ref}")`);
  const batches = match[2] === '' ? [] : match[2].split(';').map((batch) => batch.split(','));
  return { phase: match[1] as RolloutPlan['phase'], batches };
}

/** Hosts a completed status lists, each with a short excerpt: the status travels in the execution state. */
export const MAX_REPORTED_HOSTS = 50;
/** Characters of output kept per host in a completed status. */
const STATUS_EXCERPT_CHARS = 200;

/** The hosts a completed rollout reached, for the evidence report: how each ended, the end of its output. */
function hostOutcomes(results: readonly HostResult[]): HostOutcome[] {
  return results
    .slice(0, MAX_REPORTED_HOSTS)
    .map((result) => ({ host: result.host, state: result.state === 'failed' ? 'failed' : 'succeeded', detail: outputExcerpt(result.detail, STATUS_EXCERPT_CHARS) }));
}

/** Failed results, as a report line each. */
function describeResults(results: readonly HostResult[]): string {
  return results.map((result) => `${result.host} ${result.state}${result.detail ? `: ${outputExcerpt(result.detail)}` : ''}`).join('; ');
}

/**
 * A deploy target of many hosts, rolled in batches: each batch runs the command, then the ready check, and the next
 * batch starts only when both passed on it. Progress is never kept by the runbook: each status call asks the fleet
 * what it started under the rollout's keys, so a retried call starts nothing twice. A batch failing more hosts than
 * `maxErrors` allows fails the rollout; the rollback then reinstalls the previous version on the batches that were
 * started (the failed one first) and leaves the hosts of later batches untouched.
 */
export class RollingHostsTarget implements DeployTarget {
  constructor(
    private readonly fleet: HostFleet,
    private readonly options: RollingOptions,
    private readonly clock: Clock,
  ) {}

  /** The version every host runs (the `current` command on each): the version a rollback reinstalls. */
  async current(): Promise<DeployedVersion> {
    const hosts = await this.fleet.hosts();
    if (hosts.length === 0) throw new PreflightFailedError(this.noHosts());
    const versions = await this.fleet.versions(hosts);
    const unread = versions.filter((host) => host.version === null);
    if (unread.length > 0) {
      throw new PreflightFailedError(`target.current: the running version could not be read on ${unread.map((host) => `${host.host} (${outputExcerpt(host.detail)})`).join(', ')}`);
    }
    const distinct = [...new Set(versions.map((host) => host.version))];
    if (distinct.length > 1) {
      const each = versions.map((host) => `${host.host} ${host.version}`).join(', ');
      throw new PreflightFailedError(`target: the hosts run different versions (${each}): one rollback version could not put each back; finish or undo the earlier deployment first`);
    }
    const version = distinct[0] as string;
    return { version, image: null, ref: version };
  }

  async preflight(): Promise<PreflightCheck[]> {
    const hosts = await this.fleet.hosts();
    if (hosts.length === 0) return [{ name: 'hosts', ok: false, detail: this.noHosts() }];
    const checks: PreflightCheck[] = [{ name: 'hosts', ok: true, detail: `${hosts.length} host(s), ${this.fleet.description}: ${hosts.join(', ')}` }];
    const { maxConcurrency, maxErrors } = this.options;
    if (typeof maxConcurrency === 'number' && maxConcurrency > hosts.length) {
      checks.push({ name: 'batch size', ok: false, detail: `target.maxConcurrency: ${maxConcurrency} is larger than the fleet, ${hosts.length} host(s) ${this.fleet.description} (got ${maxConcurrency})` });
    } else {
      const size = batchSize(maxConcurrency, hosts.length);
      checks.push({ name: 'batch size', ok: true, detail: `${batchesOf(hosts, size).length} batch(es) of up to ${size} host(s); at most ${maxErrors} failed host(s) tolerated` });
    }
    return checks;
  }

  async deploy(request: DeployRequest): Promise<DeployHandle> {
    const hosts = await this.fleet.hosts();
    if (hosts.length === 0) throw new DeploymentFailedError(this.noHosts());
    const batches = batchesOf(hosts, batchSize(this.options.maxConcurrency, hosts.length));
    return this.begin({ phase: 'deploy', batches }, request.version, request.image, request.deploymentId);
  }

  /**
   * Reinstalls `to` on the hosts `from` touched: the batches it started, the last (failed) one first, in the same batch
   * sizes. Without `from` (Deploy failed before returning a handle) the runbook cannot know which were touched: every
   * selected host gets `to` back, which on a host already running it changes nothing but a restart.
   */
  async rollback(to: DeployedVersion, from: DeployHandle | null): Promise<DeployHandle> {
    if (to.version === null) throw new DeploymentFailedError(`the rollback command needs a version, but none was read on the hosts before the deploy (rollbackTo.ref ${to.ref})`);
    let batches: string[][];
    // Only the deploy's own handle finds its commands (their keys hash its deployment id). A handle from the ledger (an
    // alarm's or a release plan's rollback) carries none: as without a handle, every selected host is rolled back.
    if (from !== null && from.kind === this.options.kind && from.deploymentId !== null) {
      const started = await this.startedBatches(from);
      batches = started.reverse();
    } else {
      const hosts = await this.fleet.hosts();
      batches = batchesOf(hosts, batchSize(this.options.maxConcurrency, Math.max(hosts.length, 1)));
    }
    const operation = from?.deploymentId ?? `rollback-${this.clock.now().toISOString()}`;
    return this.begin({ phase: 'rollback', batches }, to.version, null, operation);
  }

  async status(handle: DeployHandle): Promise<DeployStatus> {
    const { phase, batches } = decodePlan(handle.ref);
    const version = handle.version ?? '';
    const action: HostAction = { kind: phase, version, image: handle.image };
    const checkedAt = this.clock.now().toISOString();
    const inProgress = (detail: string): DeployStatus => ({ status: 'in-progress', detail, checkedAt });
    const failures: HostResult[] = [];
    const passed: HostResult[] = [];
    for (const [index, hosts] of batches.entries()) {
      const batch = index + 1;
      const where = `batch ${batch}/${batches.length} (${hosts.join(', ')})`;
      const applied = await this.fleet.results(this.key(handle, 'apply', batch), hosts);
      if (applied === null) {
        await this.fleet.start(this.key(handle, 'apply', batch), hosts, action);
        return inProgress(`${where}: ${phase} of ${version} started${passed.length > 0 ? `; done: ${describeResults(passed)}` : ''}`);
      }
      if (applied.some((result) => result.state === 'pending')) return inProgress(`${where}: ${phase} of ${version} running: ${describeResults(applied)}`);
      let ready = applied.filter((result) => result.state === 'succeeded');
      failures.push(...applied.filter((result) => result.state === 'failed'));
      if (this.fleet.checksReadiness && ready.length > 0 && failures.length <= this.options.maxErrors) {
        const readyHosts = ready.map((result) => result.host);
        const checked = await this.fleet.results(this.key(handle, 'ready', batch), readyHosts);
        if (checked === null) {
          await this.fleet.start(this.key(handle, 'ready', batch), readyHosts, { kind: 'ready', version });
          return inProgress(`${where}: ${phase} of ${version} done, ready check started`);
        }
        if (checked.some((result) => result.state === 'pending')) return inProgress(`${where}: ready check running: ${describeResults(checked)}`);
        failures.push(...checked.filter((result) => result.state === 'failed').map((result) => ({ ...result, detail: `ready check failed: ${result.detail}` })));
        ready = checked.filter((result) => result.state === 'succeeded');
      }
      if (failures.length > this.options.maxErrors) {
        const untouched = batches.slice(batch).flat();
        throw new DeploymentFailedError(
          `${phase} of ${version}, ${where}: ${failures.length} host(s) failed, more than target.maxErrors (${this.options.maxErrors}): ${describeResults(failures)}` +
            `${passed.length + ready.length > 0 ? `; succeeded: ${describeResults([...passed, ...ready])}` : ''}` +
            `; ${untouched.length > 0 ? `not touched: ${untouched.join(', ')}` : 'no host left untouched'}`,
        );
      }
      passed.push(...ready);
    }
    const tolerated = failures.length > 0 ? `; failed within target.maxErrors (${this.options.maxErrors}): ${describeResults(failures)}` : '';
    if (batches.length === 0) return { status: 'completed', detail: `${phase}: no host to ${phase} (none was touched)`, checkedAt, hosts: [] };
    return { status: 'completed', detail: `${phase} of ${version} done in ${batches.length} batch(es): ${describeResults(passed)}${tolerated}`, checkedAt, hosts: hostOutcomes([...passed, ...failures]) };
  }

  /** The batches of `handle` whose command was started, in order. */
  private async startedBatches(handle: DeployHandle): Promise<string[][]> {
    const started: string[][] = [];
    for (const [index, hosts] of decodePlan(handle.ref).batches.entries()) {
      if ((await this.fleet.results(this.key(handle, 'apply', index + 1), hosts)) === null) break;
      started.push([...hosts]);
    }
    return started;
  }

  private async begin(plan: RolloutPlan, version: string, image: string | null, operation: string): Promise<DeployHandle> {
    const handle: DeployHandle = { kind: this.options.kind, ref: encodePlan(plan), version, image, deploymentId: operation, startedAt: this.clock.now().toISOString() };
    const [first] = plan.batches;
    if (first) await this.fleet.start(this.key(handle, 'apply', 1), first, { kind: plan.phase, version, image });
    return handle;
  }

  /** A short key: the fleet may carry it in a length-limited field (SSM's 100-character Comment). */
  private key(handle: DeployHandle, step: HostStep, batch: number): HostRunKey {
    const phase = decodePlan(handle.ref).phase;
    const operation = createHash('sha256').update(`${phase}\n${handle.deploymentId ?? handle.startedAt}`).digest('hex').slice(0, 16);
    return { operation, step, batch };
  }

  private noHosts(): string {
    return `target: no host is selected (${this.fleet.description}): nothing to deploy to`;
  }
}
