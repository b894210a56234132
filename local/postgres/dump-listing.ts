import type { Readable } from 'node:stream';
import type { RunbookError } from '../../core/errors';
import { type ProgramResult, tail } from './process';

/** What `pg_restore --list` says a custom-format dump holds. */
export interface DumpListing {
  /** Table of contents entries (tables, indexes, constraints, data…). */
  readonly entries: number;
  /** `TABLE` entries: the tables a restore creates. */
  readonly tables: number;
  /** `TABLE DATA` entries: tables whose rows the dump carries. */
  readonly tableData: number;
}

const ENTRY = /^\d+;\s+\d+\s+\d+\s+/;
const TABLE = /^\d+;\s+\d+\s+\d+\s+TABLE\s+(?!DATA\s)/;
const TABLE_DATA = /^\d+;\s+\d+\s+\d+\s+TABLE DATA\s/;

/** Counts the entries of a `pg_restore --list` output. */
export function parseDumpListing(text: string): DumpListing {
  const lines = text.split('\n');
  return {
    entries: lines.filter((line) => ENTRY.test(line)).length,
    tables: lines.filter((line) => TABLE.test(line)).length,
    tableData: lines.filter((line) => TABLE_DATA.test(line)).length,
  };
}

/**
 * Runs `pg_restore --list` (`programs.list`) on a dump streamed from the store. Only the table of contents
 * is read, so this is cheap however large the dump. `fail` builds the caller's error (snapshot or restore).
 */
export async function listDump(
  programs: { list(input: Readable): Promise<ProgramResult> },
  dump: Readable,
  label: string,
  fail: new (message: string) => RunbookError,
): Promise<DumpListing> {
  const result = await programs.list(dump);
  dump.destroy();
  if (result.code !== 0) throw new fail(`pg_restore --list could not read ${label}: ${tail(result.stderr) || `exit ${result.code ?? result.signal}`}`);
  return parseDumpListing(result.stdout);
}
