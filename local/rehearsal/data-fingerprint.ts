import pg from 'pg';
import { withClient } from '../../adapters/local/pg-connection';

/** One table as a person comparing two databases would look at it. */
export interface TableFingerprint {
  readonly rows: number;
  /** md5 of every row's text, in primary-key order: equal checksums, equal rows. */
  readonly md5: string;
  readonly columns: readonly string[];
}

/** The user tables of a database (schema `public`), by name. */
export interface DataFingerprint {
  readonly tables: Readonly<Record<string, TableFingerprint>>;
}

/**
 * Reads row counts, column names and an md5 of each table's rows ordered by its primary key (by the
 * whole row when it has none), so the same data gives the same fingerprint whatever its physical order.
 */
export async function dataFingerprint(url: string): Promise<DataFingerprint> {
  return withClient(url, async (client) => {
    const { rows: tables } = await client.query<{ name: string; columns: string[]; key: string[] | null }>(`
      SELECT c.relname AS name,
             array(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)::text[] AS columns,
             (SELECT array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.n)::text[]
                FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS key
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
       ORDER BY c.relname`);
    const result: Record<string, TableFingerprint> = {};
    for (const table of tables) {
      const order = table.key && table.key.length > 0 ? table.key.map((column) => `t.${pg.escapeIdentifier(column)}`).join(', ') : 't::text';
      const { rows } = await client.query<{ rows: string; md5: string }>(
        `SELECT count(*)::text AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY ${order}), '')) AS md5 FROM public.${pg.escapeIdentifier(table.name)} t`,
      );
      result[table.name] = { rows: Number(rows[0].rows), md5: rows[0].md5, columns: table.columns };
    }
    return { tables: result };
  });
}

/** How the data after a deployment differs from before it. */
export interface DataComparison {
  /** Same tables, each with the same rows, values and columns. */
  readonly identical: boolean;
  /** No table is gone and none has fewer rows: what a release that only adds must leave. */
  readonly noRowsLost: boolean;
  readonly rowsBefore: number;
  readonly rowsAfter: number;
  /** One line per difference, e.g. `items: 3004 → 1502 rows`, `items: column price_cents added`. */
  readonly differences: readonly string[];
}

export function compareFingerprints(before: DataFingerprint, after: DataFingerprint): DataComparison {
  const differences: string[] = [];
  let noRowsLost = true;
  for (const [name, table] of Object.entries(before.tables)) {
    const now = after.tables[name];
    if (!now) {
      differences.push(`${name}: table gone (had ${table.rows} rows)`);
      noRowsLost = false;
      continue;
    }
    if (now.rows !== table.rows) differences.push(`${name}: ${table.rows} → ${now.rows} rows`);
    if (now.rows < table.rows) noRowsLost = false;
    for (const column of now.columns.filter((c) => !table.columns.includes(c))) differences.push(`${name}: column ${column} added`);
    for (const column of table.columns.filter((c) => !now.columns.includes(c))) differences.push(`${name}: column ${column} dropped`);
    if (now.rows === table.rows && now.md5 !== table.md5 && now.columns.join() === table.columns.join()) differences.push(`${name}: values changed`);
  }
  for (const name of Object.keys(after.tables).filter((n) => !(n in before.tables))) differences.push(`${name}: table added`);
  const names = (fingerprint: DataFingerprint) => Object.keys(fingerprint.tables).sort().join();
  const identical =
    names(before) === names(after) &&
    Object.entries(before.tables).every(([name, table]) => {
      const now = after.tables[name];
      return now.rows === table.rows && now.md5 === table.md5 && now.columns.join() === table.columns.join();
    });
  return { identical, noRowsLost, rowsBefore: totalRows(before), rowsAfter: totalRows(after), differences };
}

function totalRows(fingerprint: DataFingerprint): number {
  return Object.values(fingerprint.tables).reduce((sum, table) => sum + table.rows, 0);
}
