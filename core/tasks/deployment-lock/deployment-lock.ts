import * as z from 'zod/mini';
import { describeValue, formatIssues } from '../../../config/issues';
import type { RunbookConfig } from '../../../config/schema';
import type { ArtifactStore } from '../../ports/artifact-store';
import type { Clock } from '../../ports/clock';
import { DeploymentInProgressError, InvalidInputError, LockLostError, PreconditionFailedError, RunbookError } from '../../errors';
import { endedHow } from '../../causes';
import { causeMessage, Deployment, EndedExecution, Execution, judged, Lease, TaskError } from '../../model';

const common = { deployment: Deployment, execution: Execution };

/**
 * AcquireLock, ReleaseLock* and KeepLockForHuman send these Parameters; the rule on executions that ended
 * outside the runbook's end states sends `mark-abandoned`.
 */
export const DeploymentLockEvent = z.discriminatedUnion('operation', [
  z.object({ operation: z.literal('acquire'), config: judged<Pick<RunbookConfig, 'name' | 'lock'>>(), ...common }),
  z.object({ operation: z.literal('release'), ...common, lease: Lease }),
  z.object({ operation: z.literal('mark-stuck'), ...common, lease: Lease, rollbackError: z._default(z.nullable(TaskError), null) }),
  z.object({ operation: z.literal('mark-abandoned'), config: judged<Pick<RunbookConfig, 'name'>>(), ended: EndedExecution }),
]);
export type DeploymentLockEvent = z.output<typeof DeploymentLockEvent>;

/** The object at `locks/<target>.json`. It is never deleted: its versions are the lock's history. */
export const LockRecord = z.object({
  /** Execution name of the holder. */
  owner: z.string().check(z.minLength(1)),
  executionId: z.string().check(z.minLength(1)),
  deploymentId: z.string().check(z.minLength(1)),
  version: z.nullable(z.string()),
  action: z.enum(['deploy', 'rollback', 'drill']),
  /** `stuck`: a rollback failed and the target needs a person; never taken over. */
  state: z.enum(['held', 'released', 'stuck']),
  acquiredAt: z.string().check(z.minLength(1)),
  expiresAt: z.string().check(z.minLength(1)),
  note: z.nullable(z.string()),
  /** Holder of the expired lease this one took over. */
  previousOwner: z._default(z.nullable(z.string()), null),
});
export type LockRecord = z.output<typeof LockRecord>;

/** The lock object exists but is not a lock record (edited by hand, or written by something else). */
export class LockRecordInvalidError extends RunbookError {}

/** What `release` and `mark-stuck` wrote. */
export interface LockTransition {
  readonly key: string;
  readonly state: LockRecord['state'];
  readonly etag: string;
}

export interface DeploymentLockDeps {
  readonly store: ArtifactStore;
  readonly clock: Clock;
}

/** Where the lease of a target lives. */
export function lockKey(target: string): string {
  return `locks/${target}.json`;
}

/** Dispatches the lock operations; the ASL's `operation` picks one. */
export async function runDeploymentLock(event: DeploymentLockEvent, deps: DeploymentLockDeps): Promise<Lease | LockTransition | null> {
  switch (event.operation) {
    case 'acquire':
      return acquireLock(event, deps);
    case 'release':
      return releaseLock(event, deps);
    case 'mark-stuck':
      return markLockStuck(event, deps);
    case 'mark-abandoned':
      return markLockAbandoned(event, deps);
  }
}

/**
 * Takes the target's lease: creates the lock object with `If-None-Match: *`, or replaces a released or
 * expired one with `If-Match` on the etag just read, so of two executions racing exactly one wins.
 * A retried task of the holder gets its own lease back.
 */
export async function acquireLock(
  event: Extract<DeploymentLockEvent, { operation: 'acquire' }>,
  deps: DeploymentLockDeps,
): Promise<Lease> {
  const { config, deployment, execution } = event;
  const key = lockKey(config.name);
  const now = deps.clock.now();
  const held = (previous: LockRecord | null): LockRecord => ({
    owner: execution.name,
    executionId: execution.id,
    deploymentId: deployment.id,
    version: deployment.version,
    action: lockedFor(deployment),
    state: 'held',
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + config.lock.leaseMinutes * 60_000).toISOString(),
    note: previous ? `took over the lease of ${previous.owner}, which expired at ${previous.expiresAt}` : null,
    previousOwner: previous?.owner ?? null,
  });

  try {
    const record = held(null);
    const { etag } = await deps.store.put(key, serialize(record), { ifNoneMatch: '*', contentType: 'application/json' });
    return leaseOf(key, record, etag);
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
  }

  const existing = await deps.store.get(key);
  if (!existing) throw new DeploymentInProgressError(`the lock ${key} changed while ${execution.name} tried to take it: another execution is taking it`);
  const current = parseLockRecord(key, existing.body);
  if (current.executionId === execution.id && current.state === 'held') return leaseOf(key, current, existing.etag);
  if (current.state === 'stuck') {
    throw new DeploymentInProgressError(
      `${config.name} is locked: a rollback by execution ${current.owner} (${describeWork(current)}) failed (${current.note ?? 'no detail recorded'}); ` +
        `a person must check the target, then unlock it by setting state to "released" in ${deps.store.locate(key)}`,
    );
  }
  const expired = current.state === 'held' && Date.parse(current.expiresAt) <= now.getTime();
  if (current.state === 'held' && !expired) {
    throw new DeploymentInProgressError(
      `${config.name} is locked by execution ${current.owner} (${describeWork(current)}) until ${current.expiresAt}; ${execution.name} did not start`,
    );
  }

  const record = held(expired ? current : null);
  try {
    const { etag } = await deps.store.put(key, serialize(record), { ifMatch: existing.etag, contentType: 'application/json' });
    return leaseOf(key, record, etag);
  } catch (error) {
    if (error instanceof PreconditionFailedError) {
      throw new DeploymentInProgressError(`another execution took the lock ${key} at the same time as ${execution.name}`, { cause: error });
    }
    throw error;
  }
}

/**
 * Writes `state: released` with `If-Match` on our lease's etag, so that a release never frees a lease
 * someone else holds now. Releasing twice (a retried task) is fine.
 */
export async function releaseLock(
  event: Extract<DeploymentLockEvent, { operation: 'release' }>,
  deps: DeploymentLockDeps,
): Promise<LockTransition> {
  return transition(event, deps, 'released', `released by ${event.execution.name} at ${deps.clock.now().toISOString()}`);
}

/** Keeps the lease after a failed rollback, marked `stuck` with the rollback's error, for a person to resolve. */
export async function markLockStuck(
  event: Extract<DeploymentLockEvent, { operation: 'mark-stuck' }>,
  deps: DeploymentLockDeps,
): Promise<LockTransition> {
  const error = event.rollbackError;
  const note = error ? `${error.Error}: ${causeMessage(error) || 'no detail recorded'}` : 'the rollback failed without a recorded error';
  return transition(event, deps, 'stuck', note);
}

/**
 * An execution ended without reaching the runbook's own end states (timed out mid-restore, stopped, failed
 * outside a Fail state), so nothing released its lease: the target may be half-deployed or half-restored.
 * The lease it still holds is marked `stuck` for a person, like after a failed rollback. Anything else (no
 * lock, another holder, a lease already released or stuck) is left as it is: returns null.
 */
export async function markLockAbandoned(
  event: Extract<DeploymentLockEvent, { operation: 'mark-abandoned' }>,
  deps: DeploymentLockDeps,
): Promise<LockTransition | null> {
  const { config, ended } = event;
  const key = lockKey(config.name);
  const existing = await deps.store.get(key);
  const current = existing ? parseLockRecord(key, existing.body) : null;
  if (!existing || !current || current.executionId !== ended.executionArn || current.state !== 'held') return null;
  const note =
    `execution ${ended.name} ended ${endedHow(ended)} outside the runbook's own end states: the service and the database may be half-changed; ` +
    `check them, then unlock by setting state to "released" in ${deps.store.locate(key)}`;
  const record: LockRecord = { ...current, state: 'stuck', note };
  // If-Match: a retried delivery, or a release racing it, must not overwrite a newer lease.
  const { etag } = await deps.store.put(key, serialize(record), { ifMatch: existing.etag, contentType: 'application/json' });
  return { key, state: 'stuck', etag };
}

async function transition(
  event: Extract<DeploymentLockEvent, { lease: Lease }>,
  deps: DeploymentLockDeps,
  state: 'released' | 'stuck',
  note: string,
): Promise<LockTransition> {
  const { lease, deployment } = event;
  const record: LockRecord = {
    owner: lease.owner,
    executionId: lease.executionId,
    deploymentId: deployment.id,
    version: deployment.version,
    action: lockedFor(deployment),
    state,
    acquiredAt: lease.acquiredAt,
    expiresAt: lease.expiresAt,
    note,
    previousOwner: lease.previousOwner,
  };
  try {
    const { etag } = await deps.store.put(lease.key, serialize(record), { ifMatch: lease.etag, contentType: 'application/json' });
    return { key: lease.key, state, etag };
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    const existing = await deps.store.get(lease.key);
    const current = existing ? parseLockRecord(lease.key, existing.body) : undefined;
    if (existing && current?.executionId === lease.executionId && current.state === state) return { key: lease.key, state, etag: existing.etag };
    const now = current ? `it is ${current.state} by execution ${current.owner}` : 'it no longer exists';
    throw new LockLostError(`the lease of ${lease.owner} on ${lease.key} (etag ${lease.etag}) was lost before it could be marked ${state}: ${now}`, {
      cause: error,
    });
  }
}

export function parseLockRecord(key: string, body: Buffer): LockRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new LockRecordInvalidError(`the lock object ${key} is not JSON (got ${describeValue(body.toString('utf8'))})`);
  }
  const parsed = LockRecord.safeParse(raw);
  if (!parsed.success) throw new LockRecordInvalidError(`the lock object ${key} is not a lock record: ${formatIssues(parsed.error, raw).join('; ')}`);
  return parsed.data;
}

function leaseOf(key: string, record: LockRecord, etag: string): Lease {
  return {
    key,
    owner: record.owner,
    executionId: record.executionId,
    etag,
    acquiredAt: record.acquiredAt,
    expiresAt: record.expiresAt,
    tookOver: record.previousOwner !== null,
    previousOwner: record.previousOwner,
  };
}

/**
 * The work a lease is taken for. A watch checkpoint takes none (only the rollback a failed one becomes does), nor do a
 * plan gate's read-only checks.
 */
function lockedFor(deployment: Deployment): LockRecord['action'] {
  if (deployment.action === 'watch') throw new InvalidInputError(`deployment ${deployment.id} is a watch checkpoint: it takes no lock (only the rollback a failed checkpoint becomes does)`);
  if (deployment.action === 'check') throw new InvalidInputError(`deployment ${deployment.id} runs a plan gate's SQL checks: read-only, it takes no lock`);
  if (deployment.action === 'analyze') throw new InvalidInputError(`deployment ${deployment.id} measures a plan gate's analysis: read-only, it takes no lock`);
  return deployment.action;
}

function describeWork(record: LockRecord): string {
  if (record.action === 'rollback') return 'rolling back';
  if (record.action === 'drill') return 'running a restore drill';
  return `deploying ${record.version ?? 'an unnamed version'}`;
}

function serialize(record: LockRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}
