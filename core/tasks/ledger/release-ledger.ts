import * as z from 'zod/mini';
import { describeValue, formatIssues } from '../../../config/issues';
import type { ArtifactStore } from '../../ports/artifact-store';
import { PreconditionFailedError, RunbookError } from '../../errors';
import { DrillRecord, ReleaseRecord, WatchCheckpoint } from '../../model';

/** Releases kept in the ledger, newest first: far more than any rollback window reaches back. */
export const MAX_RELEASES = 50;
/** Restore drills kept, newest first: a year of weekly drills. */
export const MAX_DRILLS = 60;
/** History entries kept, newest last. */
export const MAX_EVENTS = 200;
/** Watch checkpoints kept, newest last: every 5 minutes through an 8 h window is 96. */
export const MAX_CHECKPOINTS = 100;
/** Read-modify-write attempts before giving up on a contended ledger. */
export const LEDGER_WRITE_ATTEMPTS = 5;

export const LedgerEntry = z.object({
  at: z.string().check(z.minLength(1)),
  kind: z.enum(['released', 'rolled-back', 'aborted', 'rollback-failed', 'kept', 'alarm-outside-window', 'watch-failed', 'drill-passed', 'drill-failed']),
  detail: z.string(),
});
export type LedgerEntry = z.output<typeof LedgerEntry>;

/** `ledger/<target>.json`: what runs now, what ran before, and what happened. */
export const LedgerDocument = z.object({
  target: z.string().check(z.minLength(1)),
  /** The release running now, as far as the runbook knows; an alarm-triggered rollback undoes this one. */
  current: z.nullable(ReleaseRecord),
  releases: z.array(ReleaseRecord),
  events: z.array(LedgerEntry),
  /** The post-release watch's checkpoints, of every release, newest last (analysis.watch). */
  checkpoints: z.optional(z.array(WatchCheckpoint)),
  /** The restore drills, newest first (backup.testRestore, `drill` executions): when the backup was last proven restorable. */
  drills: z.optional(z.array(DrillRecord)),
});
export type LedgerDocument = z.output<typeof LedgerDocument>;

/** The ledger object exists but does not parse (edited by hand, or written by something else). */
export class LedgerDocumentInvalidError extends RunbookError {}

/** Other writers kept changing the ledger between our read and our conditional write. */
export class LedgerConflictError extends RunbookError {}

export function ledgerKey(target: string): string {
  return `ledger/${target}.json`;
}

/** The target's ledger, empty when none was written yet, with the etag a conditional write needs. */
export async function readLedger(store: ArtifactStore, target: string): Promise<{ document: LedgerDocument; etag: string | undefined }> {
  const key = ledgerKey(target);
  const object = await store.get(key);
  if (!object) return { document: { target, current: null, releases: [], events: [] }, etag: undefined };
  let raw: unknown;
  try {
    raw = JSON.parse(object.body.toString('utf8'));
  } catch {
    throw new LedgerDocumentInvalidError(`the ledger ${key} is not JSON (got ${describeValue(object.body.toString('utf8'))})`);
  }
  const parsed = LedgerDocument.safeParse(raw);
  if (!parsed.success) throw new LedgerDocumentInvalidError(`the ledger ${key} is not a ledger: ${formatIssues(parsed.error, raw).join('; ')}`);
  return { document: parsed.data, etag: object.etag };
}

/**
 * Applies `change` to the latest ledger and writes it only if nobody wrote in between (If-Match, or
 * If-None-Match for the first write); on a conflict it re-reads and re-applies, a bounded number of times.
 * `change` must be a pure function of the document it gets, and applying it twice must change nothing more
 * than applying it once: a retried Task runs it again.
 */
export async function updateLedger(
  store: ArtifactStore,
  target: string,
  change: (document: LedgerDocument) => LedgerDocument,
  /** The ledger as the caller just read it: the first attempt starts from it rather than reading again. */
  read?: { document: LedgerDocument; etag: string | undefined },
): Promise<LedgerDocument> {
  const key = ledgerKey(target);
  for (let attempt = 1; attempt <= LEDGER_WRITE_ATTEMPTS; attempt++) {
    const { document, etag } = attempt === 1 && read ? read : await readLedger(store, target);
    const next = change(document);
    try {
      await store.put(key, `${JSON.stringify(next, null, 2)}\n`, {
        ...(etag === undefined ? { ifNoneMatch: '*' as const } : { ifMatch: etag }),
        contentType: 'application/json',
      });
      return next;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
  throw new LedgerConflictError(`the ledger ${key} changed under every one of ${LEDGER_WRITE_ATTEMPTS} attempts to update it`);
}

/** Puts `record` first among the releases, or replaces the entry with its deploymentId where it is. */
export function withRelease(document: LedgerDocument, record: ReleaseRecord): LedgerDocument {
  const index = document.releases.findIndex((r) => r.deploymentId === record.deploymentId);
  const releases = index === -1 ? [record, ...document.releases] : document.releases.with(index, record);
  return { ...document, releases: releases.slice(0, MAX_RELEASES) };
}

/** Appends a history entry, unless the same entry is already there (a retried Task). */
export function withEntry(document: LedgerDocument, entry: LedgerEntry): LedgerDocument {
  if (document.events.some((e) => e.kind === entry.kind && e.detail === entry.detail)) return document;
  return { ...document, events: [...document.events, entry].slice(-MAX_EVENTS) };
}
