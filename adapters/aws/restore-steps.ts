import type { Tag } from '@aws-sdk/client-rds';
import type * as z from 'zod/mini';
import type { Clock } from '../../core/ports/clock';
import { RestoreFailedError } from '../../core/errors';
import type { RestoreState, SnapshotRef } from '../../core/model';
import { isFault, tagValue } from './rds-lookups';
import { RESTORED_FROM_TAG, type RenameOutcome, beginRestore, finishStep, isStuck, restoreError } from './restore-progress';

/** What one AdvanceRestore call does in a given phase. */
export type RestoreStep = (state: RestoreState) => Promise<RestoreState>;

/**
 * Runs the step of the current phase (a new restore starts at `capture`) and returns a finished restore
 * as it is. `restore` names the kind of restore in the error for a phase it has no step for.
 */
export async function advanceRestore(
  snapshot: SnapshotRef,
  state: RestoreState | null,
  clock: Clock,
  restore: string,
  steps: Readonly<Record<string, RestoreStep>>,
): Promise<RestoreState> {
  const current = state?.phase ? state : beginRestore(snapshot, clock.now());
  const phase = current.phase ?? '';
  if (phase === 'done') return current;
  // Own keys only: a phase read from the state must never reach an inherited property.
  if (!Object.hasOwn(steps, phase)) throw new RestoreFailedError(`restore.phase "${phase}" is not a step of an ${restore}`);
  return steps[phase](current);
}

/** How a restore names its snapshot in messages: `snapshot` and the API's not-found code, or their cluster forms. */
export interface SnapshotNames {
  readonly noun: string;
  readonly notFound: string;
}

/** What the capture step reads of the snapshot it will restore. */
export interface RestorableSnapshot {
  readonly status: string | undefined;
  /** The instance or cluster it was taken from. */
  readonly source: string | undefined;
}

/**
 * Refuses a snapshot that is missing, not available, or taken from another database than `original`
 * (`database` is `DB instance` or `DB cluster`). It runs before anything is touched, and says so.
 */
export function checkSnapshotBeforeRestore(
  found: RestorableSnapshot | undefined,
  snapshotId: string,
  names: SnapshotNames,
  database: string,
  original: string,
): void {
  const which = `${names.noun} ${snapshotId}`;
  if (!found) throw new RestoreFailedError(`${which} does not exist (${names.notFound}): nothing was changed`);
  if (found.status !== 'available') throw new RestoreFailedError(`${which} is in status "${found.status}", not "available": nothing was changed`);
  if (found.source !== original) {
    throw new RestoreFailedError(`${which} was taken from ${database} "${found.source}", not "${original}": nothing was changed`);
  }
}

/** Records a rename step (`what` is the database as messages name it) and moves on to `next`; stays put while RDS is busy. */
export function afterRename(state: RestoreState, outcome: RenameOutcome, what: string, failed: string, next: string, clock: Clock): RestoreState {
  if (outcome === 'waiting') return state;
  const detail = outcome === 'renamed' ? `renamed ${what} to ${failed}` : `${what} was already being renamed to ${failed}`;
  return finishStep(state, detail, next, clock.now());
}

/** Moves on to `next` with `detail` once `ready`; stays in the phase until then. */
export function finishWhen(ready: boolean, state: RestoreState, detail: string, next: string, clock: Clock): RestoreState {
  return ready ? finishStep(state, detail, next, clock.now()) : state;
}

/**
 * Moves on to `next` once a database the restore created is available. `creating` names it while it may
 * still fail, `ready` once it is up. A missing status keeps waiting: RDS may not list it yet.
 */
export function finishWhenAvailable(
  state: RestoreState,
  status: string | undefined,
  names: { readonly creating: string; readonly ready: string },
  next: string,
  clock: Clock,
): RestoreState {
  if (isStuck(status)) throw new RestoreFailedError(`${names.creating} is in status "${status}"`);
  return finishWhen(status === 'available', state, `${names.ready} is available`, next, clock);
}

/**
 * True when the database now under the original name is the one this restore started (it carries the
 * snapshot's restored-from tag); false when the name is free. Anything else there is not ours to touch.
 */
export function isOwnRestore(existing: { readonly TagList?: Tag[] } | undefined, what: string, snapshotId: string): boolean {
  if (!existing) return false;
  if (tagValue(existing.TagList, RESTORED_FROM_TAG) !== snapshotId) {
    throw new RestoreFailedError(`${what} exists again but was not restored from snapshot ${snapshotId}: refusing to touch it`);
  }
  return true;
}

/** The one call that creates a restored database or its writer, and how to tell it has already been made. */
export interface CreateOnce {
  /** True when a previous call already created it; throws when something else holds the name. */
  readonly created: () => Promise<boolean>;
  readonly create: () => Promise<unknown>;
  /** The fault RDS answers when the name is taken. */
  readonly alreadyExistsFault: string;
  /** The database as restore errors name it. */
  readonly target: string;
  readonly snapshotId: string;
}

/** Makes the create call unless a repeated AdvanceRestore call finds its earlier call's work; never creates twice. */
export async function createOnce(call: CreateOnce): Promise<'created' | 'already-created'> {
  if (await call.created()) return 'already-created';
  try {
    await call.create();
  } catch (error) {
    // Right after a create starts RDS may still report the name free: a repeated call then meets its own database.
    if (isFault(error, call.alreadyExistsFault) && (await call.created())) return 'already-created';
    throw restoreError(error, call.target, call.snapshotId);
  }
  return 'created';
}

/** What verification reads of the restored instance or cluster. */
export interface RestoredFacts {
  readonly status: string | undefined;
  readonly tags: readonly Tag[] | undefined;
  readonly hasEndpoint: boolean;
  readonly kmsKeyId: string | undefined;
}

/**
 * Fails unless the restored database (`what`) is available, tagged with this snapshot, reachable and on
 * the expected KMS key; `otherProblems` are what the restorer found in its own settings, reported in between.
 */
export function verifyRestored(
  what: string,
  facts: RestoredFacts,
  expected: { readonly snapshotId: string; readonly kmsKeyId: string | undefined },
  otherProblems: readonly string[],
): void {
  const problems: string[] = [];
  if (facts.status !== 'available') problems.push(`status is "${facts.status}"`);
  const restoredFrom = tagValue(facts.tags, RESTORED_FROM_TAG);
  if (restoredFrom !== expected.snapshotId) problems.push(`tag ${RESTORED_FROM_TAG} is "${restoredFrom ?? 'missing'}"`);
  if (!facts.hasEndpoint) problems.push('it has no endpoint');
  problems.push(...otherProblems);
  if (expected.kmsKeyId !== undefined && facts.kmsKeyId !== expected.kmsKeyId) {
    problems.push(`KMS key is "${facts.kmsKeyId ?? 'none'}", not "${expected.kmsKeyId}"`);
  }
  if (problems.length > 0) throw new RestoreFailedError(`${what} failed verification: ${problems.join('; ')}`);
}

/** The name the capture step chose for the broken database. */
export function failedCopyOf(state: RestoreState): string {
  if (!state.failedCopy) throw new RestoreFailedError(`restore.failedCopy is missing in phase "${state.phase}": the capture step did not record it`);
  return state.failedCopy;
}

/** What the capture step recorded, read back with the restorer's own schema. */
export function capturedOf<T>(state: RestoreState, schema: z.ZodMiniType<T>): T {
  const parsed = schema.safeParse(state.captured);
  if (!parsed.success) throw new RestoreFailedError(`restore.captured is missing or malformed in phase "${state.phase}": the capture step did not record the original's settings`);
  return parsed.data;
}

/** An RDS tag list with only complete key/value pairs, as the restore and create calls accept it. */
export function plainTags(tags: Tag[] | undefined): { Key: string; Value: string }[] | undefined {
  return tags?.flatMap((tag) => (tag.Key !== undefined && tag.Value !== undefined ? [{ Key: tag.Key, Value: tag.Value }] : []));
}
