import { SnapshotFailedError } from '../../core/errors';
import type { SnapshotRef } from '../../core/model';

const GIB = 1024 ** 3;

/** Snapshot statuses from which RDS never reaches `available`. */
const UNUSABLE_STATUSES = new Set(['failed', 'deleting', 'deleted', 'error']);

/** Maps an RDS snapshot status onto the runbook's three: anything still moving counts as `creating`. */
export function snapshotStatus(status: string | undefined): SnapshotRef['status'] {
  if (status === 'available') return 'available';
  if (status !== undefined && (UNUSABLE_STATUSES.has(status) || status.startsWith('incompatible-'))) return 'failed';
  return 'creating';
}

/** RDS reports storage in GiB; the runbook reports bytes. */
export function gibToBytes(gib: number | undefined): number | null {
  return gib === undefined ? null : gib * GIB;
}

/** True when two KMS key references name the same key: RDS may report an ARN or a bare key id. */
export function sameKmsKey(expectedArn: string, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  return actual === expectedArn || expectedArn.endsWith(`:key/${actual}`);
}

/** What RDS shows about a snapshot, reduced to what verification looks at. */
export interface SnapshotFacts {
  readonly id: string;
  readonly status: string | undefined;
  readonly encrypted: boolean | undefined;
  readonly kmsKeyId: string | undefined;
  /** The instance or cluster the snapshot was taken from. */
  readonly source: string | undefined;
}

/** What the snapshot must match: the configured database and its encryption. */
export interface SnapshotExpectations {
  /** `instance` or `cluster`, for messages. */
  readonly sourceKind: string;
  readonly source: string;
  readonly sourceEncrypted: boolean | null;
  readonly kmsKeyArn: string | undefined;
}

/**
 * Checks an available snapshot against the database it should back up; returns the checks that passed,
 * or throws SnapshotFailedError naming every mismatch.
 */
export function verifySnapshot(facts: SnapshotFacts, expected: SnapshotExpectations): string[] {
  const passed: string[] = [];
  const problems: string[] = [];
  const check = (ok: boolean, success: string, problem: string) => (ok ? passed.push(success) : problems.push(problem));

  check(facts.status === 'available', 'status is available', `status is "${facts.status ?? 'unknown'}", not "available"`);
  check(
    facts.source === expected.source,
    `taken from ${expected.sourceKind} ${expected.source}`,
    `taken from ${expected.sourceKind} "${facts.source ?? 'unknown'}", not the configured "${expected.source}"`,
  );
  if (expected.sourceEncrypted === true) {
    check(facts.encrypted === true, 'encrypted, like its source', `is not encrypted although ${expected.sourceKind} ${expected.source} is`);
  }
  if (expected.kmsKeyArn !== undefined) {
    check(
      sameKmsKey(expected.kmsKeyArn, facts.kmsKeyId),
      `encrypted with KMS key ${expected.kmsKeyArn}`,
      `KMS key is "${facts.kmsKeyId ?? 'none'}", not the configured database.kmsKeyArn "${expected.kmsKeyArn}"`,
    );
  }
  if (problems.length > 0) throw new SnapshotFailedError(`snapshot ${facts.id} failed verification: ${problems.join('; ')}`);
  return passed;
}
