import * as z from 'zod/mini';

/** One table as a person comparing two databases would look at it. */
export const TableFingerprint = z.object({
  rows: z.number(),
  /** md5 of every row's text, in primary-key order (equal checksums, equal rows); null when the table was only counted. */
  md5: z.nullable(z.string()),
  /** Column names in order; left out of the fingerprint a runbook records (it travels in the execution state). */
  columns: z.optional(z.array(z.string())),
});
export type TableFingerprint = z.output<typeof TableFingerprint>;

/** Tables by name (`name` for schema public, `schema.name` otherwise). */
export const DataFingerprint = z.object({
  tables: z.record(z.string(), TableFingerprint),
});
export type DataFingerprint = z.output<typeof DataFingerprint>;

/** How the data after a deployment (or a restore) differs from before it. */
export interface DataComparison {
  /** Same tables, each with the same rows, and the same values and columns wherever both sides have them. */
  readonly identical: boolean;
  /** No table is gone and none has fewer rows: what a release that only adds must leave. */
  readonly noRowsLost: boolean;
  readonly rowsBefore: number;
  readonly rowsAfter: number;
  /** One line per difference, table by table, e.g. `items: 3004 → 1502 rows`, `items: column price_cents added`. */
  readonly differences: readonly string[];
}

/** Compares two fingerprints table by table; checksums and columns are compared where both sides recorded them. */
export function compareFingerprints(before: DataFingerprint, after: DataFingerprint): DataComparison {
  const differences: string[] = [];
  let noRowsLost = true;
  let identical = true;
  for (const [name, table] of Object.entries(before.tables)) {
    const now = after.tables[name];
    if (!now) {
      differences.push(`${name}: table gone (had ${table.rows} rows)`);
      noRowsLost = false;
      identical = false;
      continue;
    }
    if (now.rows !== table.rows) differences.push(`${name}: ${table.rows} → ${now.rows} rows`);
    if (now.rows < table.rows) noRowsLost = false;
    const columnsKnown = table.columns !== undefined && now.columns !== undefined;
    const sameColumns = !columnsKnown || table.columns?.join() === now.columns?.join();
    if (columnsKnown) {
      for (const column of (now.columns ?? []).filter((c) => !table.columns?.includes(c))) differences.push(`${name}: column ${column} added`);
      for (const column of (table.columns ?? []).filter((c) => !now.columns?.includes(c))) differences.push(`${name}: column ${column} dropped`);
    }
    const sameValues = table.md5 === null || now.md5 === null || table.md5 === now.md5;
    if (now.rows === table.rows && !sameValues && sameColumns) differences.push(`${name}: values changed`);
    if (now.rows !== table.rows || !sameValues || !sameColumns) identical = false;
  }
  for (const name of Object.keys(after.tables).filter((n) => !(n in before.tables))) {
    differences.push(`${name}: table added`);
    identical = false;
  }
  return { identical, noRowsLost, rowsBefore: totalRows(before), rowsAfter: totalRows(after), differences };
}

function totalRows(fingerprint: DataFingerprint): number {
  return Object.values(fingerprint.tables).reduce((sum, table) => sum + table.rows, 0);
}
