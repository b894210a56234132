import pg from 'pg';
import { RunbookError } from '../../core/errors';

/** A connection URL that is not a usable `postgres://` URL naming a database. */
export class InvalidDatabaseUrlError extends RunbookError {}

/** The database server refused or did not answer a connection. */
export class DatabaseConnectionError extends RunbookError {}

/** A PostgreSQL connection URL split so that the password can travel apart from everything else. */
export interface PostgresUrl {
  /** The URL without its password: safe on a command line and in messages. */
  readonly safeUrl: string;
  readonly password: string | undefined;
  readonly database: string;
}

/**
 * Parses a `postgres://user:password@host:port/database` URL. `source` names where it came from
 * (e.g. the environment variable) for the error message, which never repeats the URL's password.
 */
export function parsePostgresUrl(url: string, source = 'database URL'): PostgresUrl {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidDatabaseUrlError(`${source} is not a URL (got "${redact(url, [])}")`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new InvalidDatabaseUrlError(`${source} must start with postgres:// (got "${parsed.protocol}//…")`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '') throw new InvalidDatabaseUrlError(`${source} must name a database, as in postgres://host:5432/app (got "${redact(url, [])}")`);
  const password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
  parsed.password = '';
  return { safeUrl: parsed.toString(), password, database };
}

/** The parts of a connection, as libpq's PG* variables or the RDS secret format name them. */
export interface PostgresUrlParts {
  readonly host: string;
  readonly port: string | number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Carried as the `sslmode` parameter when set. */
  readonly sslmode?: string;
}

/** A `postgres://` URL of `parts`, each one encoded. It holds the password: never log it (parsePostgresUrl gives the safe form). */
export function postgresUrl(parts: PostgresUrlParts): string {
  const url = new URL('postgres://placeholder');
  url.hostname = parts.host;
  url.port = String(parts.port);
  url.username = encodeURIComponent(parts.user);
  url.password = encodeURIComponent(parts.password);
  url.pathname = `/${encodeURIComponent(parts.database)}`;
  if (parts.sslmode) url.searchParams.set('sslmode', parts.sslmode);
  return url.toString();
}

/** The same server and credentials, another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/**
 * Removes secrets from text meant for a message or a log: each given secret (raw and URL-encoded) and
 * any password inside a `scheme://user:password@` URL.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let clean = text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) clean = clean.split(form).join('***');
  }
  return clean;
}

/**
 * node-postgres' options for a URL, with `sslmode` read as libpq reads it (as pg_dump and psql do with the same URL).
 * node-postgres alone reads `require`, `prefer` and `verify-ca` as `verify-full`, so a server whose certificate
 * pg_dump accepts under `require` would be refused here. Other modes, and URLs without one, are left to node-postgres.
 */
export function clientConfigOf(url: string): pg.ClientConfig {
  const parsed = new URL(url);
  const sslmode = parsed.searchParams.get('sslmode');
  const ssl = sslmode === null ? undefined : LIBPQ_SSL[sslmode];
  if (ssl === undefined) return { connectionString: url };
  parsed.searchParams.delete('sslmode');
  return { connectionString: parsed.toString(), ssl };
}

/** libpq's sslmodes that node-postgres reads differently: encrypt, and check the certificate only as libpq does. */
const LIBPQ_SSL: Readonly<Record<string, pg.ClientConfig['ssl']>> = {
  // libpq falls back to plain text when the server has no TLS; node-postgres cannot: TLS without checks is the closest.
  prefer: { rejectUnauthorized: false },
  require: { rejectUnauthorized: false },
  // The chain is checked, the host name is not.
  'verify-ca': { rejectUnauthorized: true, checkServerIdentity: () => undefined },
};

/** Opens a connection, runs `work`, and always closes it. A failed connection names the server, never the password. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const { safeUrl, password } = parsePostgresUrl(url);
  const client = new pg.Client({ ...clientConfigOf(url), connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (error) {
    throw new DatabaseConnectionError(`could not connect to ${safeUrl}: ${redact(error instanceof Error ? error.message : String(error), [password])}`, { cause: error });
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
