import { sameImageRepository } from '../../../config/image-reference';
import * as z from 'zod/mini';
import type { RunbookConfig, SecretRef } from '../../../config/schema';
import { watchedAlarms } from '../../../config/watched-alarms';
import type { AlarmSource } from '../../ports/alarm-source';
import type { Clock } from '../../ports/clock';
import type { DatabaseBackups } from '../../ports/database-backups';
import type { DeployTarget } from '../../ports/deploy-target';
import type { MetricQuery } from '../../ports/metric-query';
import { measureBaselines } from '../../analysis';
import type { SecretSource } from '../../ports/secret-source';
import { InvalidInputError, PreflightFailedError, RunbookError } from '../../errors';
import { type AlarmState, type DatabaseInfo, type DeployedVersion, Deployment, judged, type Preflight, type PreflightCheck } from '../../model';

/** The Parameters of the Preflight state. */
export const PreflightEvent = z.object({ config: judged<Pick<RunbookConfig, 'name' | 'target' | 'database' | 'alarms' | 'smokeTests' | 'analysis'>>(), deployment: Deployment });
export type PreflightEvent = z.output<typeof PreflightEvent>;

export interface PreflightDeps {
  readonly target: DeployTarget;
  /** Null exactly when `config.database` is null. */
  readonly backups: DatabaseBackups | null;
  readonly alarms: AlarmSource;
  /** Reads each smoke-test secret once: the value is dropped, only whether it could be read is kept. */
  readonly secrets: SecretSource;
  /** Measures the analysis metrics' baselines; a query it cannot run fails the preflight. */
  readonly metrics: MetricQuery;
  readonly clock: Clock;
}

/**
 * Checks that the target, the database, the smoke-test secrets, the alarms and the analysis metrics are fit for a deploy, and
 * records what the rollback and the bake will need: the running version, the alarm states and the metrics' baselines. Every check runs; all failures are
 * reported together in one PreflightFailedError, so one attempt shows everything to fix.
 */
export async function runPreflight(event: PreflightEvent, deps: PreflightDeps): Promise<Preflight> {
  const { config, deployment } = event;
  const checks: PreflightCheck[] = [];
  const attempt = <T>(name: string, read: () => Promise<T>) => recordFailure(checks, name, read);

  // A restore drill deploys nothing: only the database it backs up and restores is checked.
  const drill = deployment.action === 'drill';
  if (!drill) checks.push(...((await attempt('target', () => deps.target.preflight())) ?? []));

  const running = drill ? NOTHING_DEPLOYED : await attempt('running version', () => deps.target.current());
  if (running && !drill) checks.push(...runningChecks(running, deployment.version), ...imageSourceChecks(running, deployment.image, config.target));

  let database: DatabaseInfo | null = null;
  if (config.database !== null) {
    if (deps.backups === null) throw new InvalidInputError(`config.database is ${config.database.kind} but the preflight was given no database adapter`);
    const backups = deps.backups;
    const info = await attempt('database', () => backups.describe());
    if (info) {
      database = info;
      checks.push({ name: 'database available', ok: info.status === 'available', detail: `${info.kind} ${info.identifier} is ${info.status}` });
    }
    const quota = await attempt('snapshot quota', () => backups.quota());
    if (quota) {
      const headroom = config.database.snapshotQuotaHeadroom;
      checks.push({
        name: 'snapshot quota',
        ok: quota.used + 1 + headroom <= quota.max,
        detail: `${quota.used} of ${quota.max} manual snapshots used; this deploy needs 1 more and keeps ${headroom} free`,
      });
    }
  }

  if (drill) return finished(checks, running, [], [], database, config.name, deps.clock);

  // SmokeTest reads them only after the deploy: a secret it cannot read would fail the release, then the rollback's verification too.
  for (const [name, ref] of Object.entries(config.smokeTests.secrets)) {
    const read = await attempt(`smoke-test secret ${name}`, () => deps.secrets.resolve(ref));
    if (read !== undefined) checks.push({ name: `smoke-test secret ${name}`, ok: true, detail: `${describeSecret(ref)} is readable` });
  }

  const names = watchedAlarms(config.alarms);
  const states = names.length === 0 ? [] : await attempt('alarm baseline', () => deps.alarms.states(names));
  if (states) checks.push(baselineCheck(states, config.alarms.preexisting));

  // The baseline is the release running now: an http metric's checks expect its version.
  const measured = await measureBaselines(config.analysis.metrics, deps.metrics, deps.clock.now(), { expectedVersion: running?.version ?? null });
  checks.push(...measured.checks);

  return finished(checks, running, states, measured.baselines, database, config.name, deps.clock);
}

/** A drill's `running`: it reads no target and rolls nothing back. */
const NOTHING_DEPLOYED: DeployedVersion = { version: null, image: null, ref: 'not read: a restore drill deploys nothing' };

/** The Preflight, or every failed check in one PreflightFailedError. */
function finished(
  checks: PreflightCheck[],
  running: DeployedVersion | undefined,
  states: AlarmState[] | undefined,
  metrics: Preflight['baseline']['metrics'],
  database: DatabaseInfo | null,
  name: string,
  clock: Clock,
): Preflight {
  const failed = checks.filter((check) => !check.ok);
  if (failed.length > 0 || !running || !states) {
    throw new PreflightFailedError(`pre-flight failed for ${name} (${failed.length} check(s)): ${failed.map((check) => `${check.name}: ${check.detail}`).join('; ')}`);
  }
  const now = clock.now().toISOString();
  return { running, baseline: { takenAt: now, alarms: states, metrics }, database, checks, checkedAt: now };
}

/** Runs one read; a RunbookError becomes a failed check (unless an earlier one said the same), anything else propagates. */
async function recordFailure<T>(checks: PreflightCheck[], name: string, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (!(error instanceof RunbookError)) throw error;
    // The target's own preflight and current() often trip over the same missing service.
    if (!checks.some((check) => !check.ok && check.detail === error.message)) checks.push({ name, ok: false, detail: error.message });
    return undefined;
  }
}

/** Where a secret is read from, never what it holds. */
function describeSecret(ref: SecretRef): string {
  if ('env' in ref) return `environment variable ${ref.env}`;
  return `Secrets Manager secret '${ref.secretsManager}'${ref.jsonKey === undefined ? '' : ` (key '${ref.jsonKey}')`}`;
}

function runningChecks(running: DeployedVersion, requested: string | null): PreflightCheck[] {
  const checks: PreflightCheck[] = [
    { name: 'running version', ok: true, detail: `${running.version ?? 'unknown version'} (${running.ref}): the rollback target` },
  ];
  if (requested !== null && running.version === requested) {
    checks.push({ name: 'redeploy', ok: true, detail: `${requested} is already running: this deploy redeploys it` });
  }
  return checks;
}

/**
 * Without target.imageRepository, the new image must come from the repository the service already runs: an
 * input cannot deploy an image from anywhere. (With it, ValidateInput has already held the image to it.)
 */
function imageSourceChecks(running: DeployedVersion, image: string | null, target: PreflightEvent['config']['target']): PreflightCheck[] {
  if (target.kind !== 'ecs' || image === null || target.imageRepository !== undefined) return [];
  if (running.image === null) {
    return [{ name: 'image source', ok: false, detail: `the running release names no image to compare ${image} with: set target.imageRepository to say where images may come from` }];
  }
  return sameImageRepository(image, running.image)
    ? [{ name: 'image source', ok: true, detail: `${image} comes from the repository the service runs (${running.image})` }]
    : [
        {
          name: 'image source',
          ok: false,
          detail: `${image} is not from the repository the service runs (${running.image}): set target.imageRepository to deploy images from elsewhere`,
        },
      ];
}

function baselineCheck(states: AlarmState[], preexisting: 'report' | 'block'): PreflightCheck {
  if (states.length === 0) return { name: 'alarm baseline', ok: true, detail: 'no alarms configured: the bake cannot detect a regression' };
  const firing = states.filter((alarm) => alarm.state === 'ALARM');
  const noData = states.filter((alarm) => alarm.state === 'INSUFFICIENT_DATA').map((alarm) => alarm.name);
  const unknown = noData.length > 0 ? `; no data yet: ${noData.join(', ')}` : '';
  if (firing.length === 0) return { name: 'alarm baseline', ok: true, detail: `${states.length} alarm(s), none in ALARM${unknown}` };
  const list = firing.map((alarm) => (alarm.reason ? `${alarm.name} (${alarm.reason})` : alarm.name)).join(', ');
  return preexisting === 'block'
    ? { name: 'alarm baseline', ok: false, detail: `already in ALARM before the deploy: ${list}; alarms.preexisting is "block"${unknown}` }
    : { name: 'alarm baseline', ok: true, detail: `already in ALARM before the deploy, reported and not blocking (only new alarms roll back): ${list}${unknown}` };
}
