import type pg from 'pg';
import type { DatabaseConnectionConfig } from '../../config/schema';
import { SecretUnavailableError } from '../../core/errors';
import type { SecretSource } from '../../core/ports/secret-source';

/**
 * The CA bundle the Lambda Node.js runtime ships, Amazon RDS CAs included. From Node.js 20 the runtime no longer
 * loads it by default: the functions that connect to a database set `NODE_EXTRA_CA_CERTS` to it
 * (lib/network.ts), so `sslmode: verify-full` can check an RDS server's certificate.
 */
export const LAMBDA_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/** A `pg` client configuration and a description of it that is safe to log (no password). */
export interface DatabaseEndpoint {
  readonly client: pg.ClientConfig;
  /** `postgres://user@host:port/database (sslmode verify-full)`. */
  readonly description: string;
}

/** The fields of the RDS secret format this adapter reads; `engine`, `dbClusterIdentifier`… are ignored. */
interface RdsSecret {
  readonly host?: unknown;
  readonly port?: unknown;
  readonly username?: unknown;
  readonly password?: unknown;
  readonly dbname?: unknown;
}

/** How long a connection attempt may take before it is given up as unreachable. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Reads the database connection of `database.connection` from Secrets Manager (through `secrets`, which on AWS is
 * the SecretsManagerSource) and builds a `pg` client configuration: the configuration's host, port and database
 * win over the secret's, `overrides` over both; TLS follows `sslmode`. Errors name the secret and the missing field, never a value.
 */
export async function databaseEndpoint(
  connection: DatabaseConnectionConfig,
  secrets: SecretSource,
  overrides: { readonly database?: string; readonly host?: string } = {},
): Promise<DatabaseEndpoint> {
  const secretId = connection.secretsManager;
  const text = await secrets.resolve({ secretsManager: secretId });
  let document: RdsSecret;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError('not an object');
    document = parsed as RdsSecret;
  } catch {
    throw new SecretUnavailableError(`Secrets Manager secret '${secretId}' (database.connection) is not a JSON object such as {"host", "port", "username", "password", "dbname"}`);
  }
  const fromSecret = (name: keyof RdsSecret): string | undefined => {
    const value = document[name];
    return (typeof value === 'string' && value !== '') || typeof value === 'number' ? String(value) : undefined;
  };
  const missing = (name: keyof RdsSecret, setting?: string): never => {
    throw new SecretUnavailableError(`Secrets Manager secret '${secretId}' (database.connection) has no "${name}"${setting ? `; add it, or set database.connection.${setting}` : ''}`);
  };
  // A drill's scratch copy (overrides.host) is another endpoint with the same credentials.
  const host = overrides.host ?? connection.host ?? fromSecret('host') ?? missing('host', 'host');
  const port = connection.port ?? Number(fromSecret('port') ?? 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new SecretUnavailableError(`Secrets Manager secret '${secretId}' (database.connection) has a "port" that is not a TCP port`);
  const user = fromSecret('username') ?? missing('username');
  const password = fromSecret('password') ?? missing('password');
  const database = overrides.database ?? connection.database ?? fromSecret('dbname') ?? missing('dbname', 'database');
  return {
    client: { host, port, user, password, database, ssl: tlsOptions(connection.sslmode), connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    description: `postgres://${user}@${host}:${port}/${database} (sslmode ${connection.sslmode})`,
  };
}

/** libpq's sslmode as node-postgres' `ssl` option. */
export function tlsOptions(sslmode: DatabaseConnectionConfig['sslmode']): pg.ClientConfig['ssl'] {
  switch (sslmode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      // Node checks the chain against its CAs (plus NODE_EXTRA_CA_CERTS) and the certificate's names against the host.
      return { rejectUnauthorized: true };
  }
}
