import { z } from 'zod';
import { bakeChecks } from '../../../config/budgets';
import { MAX_INPUT_BYTES, requestSchemaFor } from '../../../config/deployment-input';
import { drillDatabaseProblem } from '../../../config/restore-drill';
import { usesImage } from '../../../config/host-commands';
import { imageTag, sameImageRepository } from '../../../config/image-reference';
import { describeValue, formatIssues } from '../../../config/issues';
import { type AlarmsConfig, RunbookConfig } from '../../../config/schema';
import { watchedAlarms } from '../../../config/watched-alarms';
import type { AlarmSource } from '../../ports/alarm-source';
import type { Clock } from '../../ports/clock';
import { deploymentIdFor } from '../../deployment-id';
import { InvalidInputError } from '../../errors';
import { type AlarmState, type Deployment, Execution } from '../../model';

export const ValidateInputEvent = z.object({
  input: z.unknown(),
  config: z.unknown(),
  execution: Execution,
});
export type ValidateInputEvent = z.output<typeof ValidateInputEvent>;

export interface ValidateInputDeps {
  readonly clock: Clock;
  /** The source of the configured alarms, asked only for an alarm rollback: only a firing, watched alarm may start one. */
  readonly alarms: (alarms: AlarmsConfig) => AlarmSource;
}

/**
 * The first task: turns the raw execution input into a Deployment, or fails with every problem named.
 * It touches nothing (it only reads an alarm's state), so a rejected input leaves no lock, no snapshot and no deploy behind.
 */
export async function validateInput(event: ValidateInputEvent, deps: ValidateInputDeps): Promise<Deployment> {
  const configResult = RunbookConfig.safeParse(event.config);
  if (!configResult.success) {
    throw new InvalidInputError(`the configuration in the state machine is invalid: ${formatIssues(configResult.error, event.config, 'config').join('; ')}`);
  }
  const config = configResult.data;

  const size = Buffer.byteLength(JSON.stringify(event.input ?? null));
  if (size > MAX_INPUT_BYTES) throw new InvalidInputError(`input is ${size} bytes; the limit is ${MAX_INPUT_BYTES}`);
  if (event.input === null || typeof event.input !== 'object' || Array.isArray(event.input)) {
    throw new InvalidInputError(`input must be a JSON object such as {"version": "v1.4.2", "image": "..."} (got ${describeValue(event.input)})`);
  }

  const parsed = requestSchemaFor(event.input).safeParse(event.input);
  if (!parsed.success) throw new InvalidInputError(formatIssues(parsed.error, event.input).join('; '));
  const request = parsed.data;

  const problems: string[] = [];
  let version: string | null = null;
  let image: string | null = null;
  let alarm: Deployment['alarm'] = null;
  if (request.action === 'deploy') {
    version = request.version;
    image = request.image ?? null;
    if (config.target.kind === 'ecs') {
      if (!image) problems.push(`image: required for an ECS target (service ${config.target.service})`);
      else if (config.target.imageRepository && !sameImageRepository(image, config.target.imageRepository)) {
        problems.push(`image: must come from ${config.target.imageRepository} (target.imageRepository) (got "${image}")`);
      }
    }
    if (config.target.kind === 'ssm-hosts' && !image && usesImage(config.target.deploy)) {
      problems.push('image: required: target.deploy uses {{image}}');
    }
    if (config.target.kind === 'lambda-alias') {
      problems.push(...lambdaCodeProblems(config.target, version, image));
    } else if (image) problems.push(...versionOfImageProblems(version, image));
  } else if (request.action === 'drill') {
    const problem = drillDatabaseProblem(config.database);
    if (problem) problems.push(`action: "drill": ${problem}`);
  } else if (request.action === 'watch') {
    if (!config.analysis.watch) {
      problems.push('action: "watch" needs analysis.watch in the configuration: this runbook has no post-release watch (got "watch")');
    }
  } else if (request.action === 'check') {
    const known = config.checks.sql.map((check) => check.name);
    request.checks.forEach((name, index) => {
      if (known.includes(name)) return;
      const has = known.length > 0 ? `checks.sql has ${known.map((k) => `'${k}'`).join(', ')}` : 'this runbook has no checks.sql';
      problems.push(`checks[${index}]: names no SQL check of this runbook: ${has} (got '${name}')`);
    });
  } else if (request.action === 'analyze') {
    problems.push(...analyzeProblems(config.analysis.metrics, request.metrics));
  } else if (request.alarm && request.plan) {
    problems.push(`plan: a rollback is started by an alarm or by a release plan, not both (got alarm "${request.alarm.name}" and plan "${request.plan.name}")`);
  } else if (request.alarm) {
    const watched = watchedAlarms(config.alarms);
    if (!watched.includes(request.alarm.name)) {
      problems.push(`alarm.name: "${request.alarm.name}" is not one of the configured alarms (${watched.join(', ') || 'none'})`);
    } else {
      const fired = await firingAlarm(request.alarm.name, config, deps);
      if (typeof fired === 'string') problems.push(fired);
      // What the alarm source says, not what the caller claims: the RolledBack cause quotes it.
      else alarm = { name: fired.name, reason: fired.reason ?? request.alarm.reason ?? null, time: fired.updatedAt ?? request.alarm.time ?? null };
    }
  }
  if (problems.length > 0) throw new InvalidInputError(problems.join('; '));

  return {
    id: deploymentIdFor(event.execution.name, event.execution.id),
    action: request.action,
    target: config.name,
    version,
    image,
    requestedBy: request.requestedBy ?? null,
    reason: request.reason ?? null,
    alarm,
    ...((request.action === 'rollback' || request.action === 'check' || request.action === 'analyze') && request.plan ? { plan: request.plan } : {}),
    ...(request.action === 'check' ? { checks: request.checks } : {}),
    ...(request.action === 'analyze' ? { metrics: request.metrics ?? null } : {}),
    bakeChecks: bakeChecks(config.bake),
    approvalTimeoutSeconds: (config.database?.restoreApproval.timeoutMinutes ?? 60) * 60,
    executionId: event.execution.id,
    startedAt: deps.clock.now().toISOString(),
  };
}

/**
 * An analysis gate measures deciding metrics only: a runbook without one has nothing to judge, and a dry-run metric
 * (reported, never deciding) or an unknown name is refused by name.
 */
function analyzeProblems(metrics: RunbookConfig['analysis']['metrics'], names: readonly string[] | undefined): string[] {
  const deciding = metrics.filter((metric) => !metric.dryRun).map((metric) => metric.name);
  if (deciding.length === 0) {
    const why = metrics.length === 0 ? 'analysis.metrics is empty' : `every metric of analysis.metrics is dryRun (${metrics.map((metric) => metric.name).join(', ')})`;
    return [`action: "analyze" needs an analysis metric that decides: ${why} (got "analyze")`];
  }
  return (names ?? []).flatMap((name, index) => {
    if (deciding.includes(name)) return [];
    const dryRun = metrics.some((metric) => metric.name === name);
    const why = dryRun ? 'it is dryRun: it is reported, never decides' : 'it names no metric of this runbook';
    return [`metrics[${index}]: ${why}; the deciding metrics of analysis.metrics are ${deciding.map((d) => `'${d}'`).join(', ')} (got '${name}')`];
  });
}

/**
 * Anyone who may start an execution could claim that an alarm fired: the alarm must be in ALARM now, and have
 * entered it inside the rollback window (an alarm firing for longer predates every release the window covers).
 * Returns the alarm's state, or the problem with it. An unreadable alarm throws AlarmStateUnavailableError.
 */
async function firingAlarm(name: string, config: RunbookConfig, deps: ValidateInputDeps): Promise<AlarmState | string> {
  const { rollbackWindowHours } = config;
  const [alarm] = await deps.alarms(config.alarms).states([name]);
  const since = alarm.updatedAt ? ` since ${alarm.updatedAt}` : '';
  if (alarm.state !== 'ALARM') {
    return `alarm.name: "${name}" is in state ${alarm.state}${since}, not ALARM: only a firing alarm starts an alarm rollback (got an alarm rollback for it)`;
  }
  const enteredAt = alarm.updatedAt === null ? Number.NaN : Date.parse(alarm.updatedAt);
  const windowMs = rollbackWindowHours * 3_600_000;
  if (windowMs > 0 && deps.clock.now().getTime() - enteredAt > windowMs) {
    return `alarm.name: "${name}" is in state ALARM${since}, longer than the ${rollbackWindowHours} h rollback window: it fired before any release the window covers`;
  }
  return alarm;
}

/**
 * A lambda-alias target's code: an object of `target.codeBucket` whose key names the version (a path segment or
 * part of the file name), or an image of `target.imageRepository` tagged with it.
 */
function lambdaCodeProblems(target: Extract<RunbookConfig['target'], { kind: 'lambda-alias' }>, version: string, image: string | null): string[] {
  if (target.codeBucket !== undefined) {
    const prefix = `s3://${target.codeBucket}/`;
    if (!image?.startsWith(prefix) || image.length === prefix.length) {
      return [`image: a lambda-alias target with codeBucket needs the package as ${prefix}<key> (got ${image === null ? 'nothing' : `"${image}"`})`];
    }
    const key = image.slice(prefix.length);
    const named = new RegExp(`(^|[/_-])${version.replace(/[.+]/g, (c) => `\\${c}`)}([/_-]|\\.zip$|$)`).test(key);
    return named ? [] : [`image: the key must name the version ${version} (such as ${prefix}${version}/function.zip), so that the version checked is the one deployed (got "${image}")`];
  }
  if (!image) return [`image: required for a lambda-alias target with imageRepository (${target.imageRepository})`];
  if (target.imageRepository && !sameImageRepository(image, target.imageRepository)) {
    return [`image: must come from ${target.imageRepository} (target.imageRepository) (got "${image}")`];
  }
  return versionOfImageProblems(version, image);
}

/**
 * The version is what the smoke tests and the evidence expect the new release to report: it must be the
 * image's own tag, or a caller could deploy one image under another version's name and make the checks fail
 * by design (and, with it, roll back and restore the database).
 */
function versionOfImageProblems(version: string, image: string): string[] {
  const tag = imageTag(image);
  if (tag === null) return [`image: must carry the version as its tag, such as …:${version} or …:${version}@sha256:<digest>, so that the version checked is the one deployed (got "${image}")`];
  if (tag !== version) return [`version: must be the tag of the image, "${tag}": the smoke tests would expect "${version}" from an image that is not it (got "${version}")`];
  return [];
}
