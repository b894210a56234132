import type { DataFingerprint } from '../data-fingerprint';
import { RunbookError } from '../errors';

/** The database refused or could not answer a query; `code` is its SQLSTATE (`25006` a write in a read-only transaction, `57014` a timeout). */
export class DatabaseQueryError extends RunbookError {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** The database did not accept a connection: the message names it, never the password. */
export class DatabaseUnreachableError extends RunbookError {}

/** The SQLSTATEs a check's reason names in words. */
export const SQLSTATE = { readOnlyTransaction: '25006', queryCanceled: '57014' } as const;

/** What one read-only query returned: how many rows, and the first column of the first row (null without rows). */
export interface QueryAnswer {
  readonly rowCount: number;
  readonly value: string | number | boolean | null;
}

/** Which tables a fingerprint covers and which of them it checksums. */
export interface FingerprintScope {
  /** @default every table of schema public */
  readonly tables?: readonly string[];
  readonly checksumTables: readonly string[];
}

/**
 * Reads a database without changing it: the SQL checks and the data fingerprints. Locally the rehearsal's
 * PostgreSQL, on AWS the database of `database.connection`.
 */
export interface DatabaseInspector {
  /** How the database is reached, for messages: never a password. */
  readonly description: string;
  /**
   * Runs `sql` in a read-only transaction with `statement_timeout` = `timeoutMs`, then rolls back. A query that
   * writes, times out or is wrong rejects with a DatabaseQueryError carrying the SQLSTATE.
   */
  query(sql: string, timeoutMs: number): Promise<QueryAnswer>;
  /** Row counts (and checksums of `checksumTables`), in one read-only transaction. */
  fingerprint(scope: FingerprintScope): Promise<DataFingerprint>;
}
