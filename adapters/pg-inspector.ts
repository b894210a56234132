import pg from 'pg';
import type { DataFingerprint, TableFingerprint } from '../core/data-fingerprint';
import { type DatabaseInspector, DatabaseQueryError, DatabaseUnreachableError, type FingerprintScope, type QueryAnswer } from '../core/ports/database-inspector';

/**
 * The DatabaseInspector over node-postgres, shared by the rehearsal (a URL) and the AWS functions (the client
 * configuration `database.connection` yields). Each call opens its own connection and closes it: a check never
 * sees another's session settings.
 */
export class PgInspector implements DatabaseInspector {
  constructor(
    private readonly client: pg.ClientConfig,
    readonly description: string,
    /** Values that must never appear in a message (the password). */
    private readonly secrets: readonly string[] = typeof client.password === 'string' ? [client.password] : [],
  ) {}

  query(sql: string, timeoutMs: number): Promise<QueryAnswer> {
    return this.readOnly(timeoutMs, async (client) => {
      // The extended protocol takes exactly one statement: `COMMIT; DELETE …` cannot step out of the read-only transaction.
      const result = await client.query({ text: sql, rowMode: 'array', queryMode: 'extended' } as pg.QueryArrayConfig);
      return { rowCount: result.rows.length, value: scalar(result.rows[0]?.[0]) };
    });
  }

  fingerprint(scope: FingerprintScope): Promise<DataFingerprint> {
    return this.readOnly(0, (client) => readFingerprint(client, { ...scope, columns: false }));
  }

  private async readOnly<T>(timeoutMs: number, work: (client: pg.Client) => Promise<T>): Promise<T> {
    const client = new pg.Client(this.client);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw new DatabaseUnreachableError(`could not connect to ${this.description}: ${this.clean(error)}`, { cause: error });
    }
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.trunc(timeoutMs))}`);
      return await work(client);
    } catch (error) {
      if (error instanceof DatabaseQueryError) throw error;
      const code = typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : null;
      throw new DatabaseQueryError(this.clean(error), code);
    } finally {
      await client.query('ROLLBACK').catch(() => undefined);
      await client.end().catch(() => undefined);
    }
  }

  private clean(error: unknown): string {
    let text = error instanceof Error ? error.message : String(error);
    for (const secret of this.secrets) if (secret) text = text.split(secret).join('***');
    return text;
  }
}

/** A JSON-safe scalar of what a query returned: numbers stay numbers, big integers and numerics stay their text. */
function scalar(value: unknown): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/** `schema.table` or `table` (schema public) as a quoted identifier pair. */
function qualified(name: string): { schema: string; table: string } {
  const dot = name.indexOf('.');
  return dot === -1 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/**
 * Reads row counts and, for `checksumTables` (every table with `checksumTables: 'all'`), an md5 of the rows ordered by
 * the primary key (by the whole row without one), so the same data gives the same fingerprint whatever its physical
 * order. Without `tables`, every table of schema public. A table that does not exist is an error naming it.
 */
export async function readFingerprint(
  client: pg.Client,
  scope: { readonly tables?: readonly string[]; readonly checksumTables: readonly string[] | 'all'; readonly columns: boolean },
): Promise<DataFingerprint> {
  const names = scope.tables ?? (await publicTables(client));
  const result: Record<string, TableFingerprint> = {};
  for (const name of names) {
    const { schema, table } = qualified(name);
    const { rows: described } = await client.query<{ columns: string[] | null; key: string[] | null }>(
      `SELECT array(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)::text[] AS columns,
              (SELECT array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n) JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.n)::text[]
                 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS key
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`,
      [schema, table],
    );
    if (described.length === 0) throw new DatabaseQueryError(`table ${name} (backup.fingerprint) does not exist`, '42P01');
    const from = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(table)}`;
    const checksum = scope.checksumTables === 'all' || scope.checksumTables.includes(name);
    const key = described[0].key;
    const order = key && key.length > 0 ? key.map((column) => `t.${pg.escapeIdentifier(column)}`).join(', ') : 't::text';
    const md5 = checksum ? `md5(coalesce(string_agg(t::text, E'\\n' ORDER BY ${order}), ''))` : 'NULL::text';
    const { rows } = await client.query<{ rows: string; md5: string | null }>(`SELECT count(*)::text AS rows, ${md5} AS md5 FROM ${from} t`);
    result[name] = { rows: Number(rows[0].rows), md5: rows[0].md5, ...(scope.columns ? { columns: described[0].columns ?? [] } : {}) };
  }
  return { tables: result };
}

async function publicTables(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
  );
  return rows.map((row) => row.name);
}
