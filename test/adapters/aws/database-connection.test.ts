import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { databaseEndpoint, tlsOptions } from '../../../adapters/aws/database-connection';
import { SecretsManagerSource } from '../../../adapters/aws/secrets-manager-source';
import { DatabaseConnection } from '../../../config/schema';
import { SecretUnavailableError } from '../../../core/errors';
import { usePostgres } from '../../local/postgres/fixtures';

const client = new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
const secretsManager = mockClient(client);
const PASSWORD = 'Tr0ub4dor&3-secret';
const RDS_SECRET = { engine: 'postgres', host: 'shop.abc123.eu-west-1.rds.amazonaws.com', port: 5432, username: 'shop_admin', password: PASSWORD, dbname: 'shop', dbInstanceIdentifier: 'shop-prod-db' };

function secretHolds(document: unknown): void {
  secretsManager.on(GetSecretValueCommand, { SecretId: 'shop/prod/db' }).resolves({ SecretString: typeof document === 'string' ? document : JSON.stringify(document) });
}

function endpoint(connection: Record<string, unknown> = {}, overrides?: { database?: string; host?: string }) {
  return databaseEndpoint(DatabaseConnection.parse({ secretsManager: 'shop/prod/db', ...connection }), new SecretsManagerSource(client), overrides);
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e as Error,
  );
  if (!error) throw new Error('expected a failure');
  return error;
}

beforeEach(() => {
  secretsManager.reset();
});

describe('databaseEndpoint', () => {
  it('reads an RDS-format secret into a pg client configuration that verifies the server certificate', async () => {
    secretHolds(RDS_SECRET);

    const { client: config, description } = await endpoint();

    expect(secretsManager).toHaveReceivedCommandExactlyOnceWith(GetSecretValueCommand, { SecretId: 'shop/prod/db' });
    expect(config).toEqual({
      host: RDS_SECRET.host,
      port: 5432,
      user: 'shop_admin',
      password: PASSWORD,
      database: 'shop',
      ssl: { rejectUnauthorized: true },
      connectionTimeoutMillis: 10_000,
    });
    expect(description).toBe(`postgres://shop_admin@${RDS_SECRET.host}:5432/shop (sslmode verify-full)`);
    expect(description).not.toContain(PASSWORD);
  });

  it('completes an RDS-managed master secret (user name and password only) from the configuration, whose values win', async () => {
    secretHolds({ username: 'postgres', password: PASSWORD });

    const { client: config } = await endpoint({ host: 'db.internal.example.com', port: 6432, database: 'orders' });

    expect(config).toMatchObject({ host: 'db.internal.example.com', port: 6432, database: 'orders', user: 'postgres' });
  });

  it("reaches an RDS drill's copy with the same credentials: the host override wins over the configuration's and the secret's", async () => {
    secretHolds(RDS_SECRET);
    const copy = 'shop-prod-db-drill-20250314090000.abc123.eu-west-1.rds.amazonaws.com';

    const { client: config, description } = await endpoint({ host: 'db.internal.example.com' }, { host: copy });

    expect(config).toMatchObject({ host: copy, port: 5432, user: 'shop_admin', database: 'shop', ssl: { rejectUnauthorized: true } });
    expect(description).toBe(`postgres://shop_admin@${copy}:5432/shop (sslmode verify-full)`);
  });

  it('takes the port as a string, defaults it to 5432, and lets the caller choose another database (a scratch copy)', async () => {
    secretHolds({ ...RDS_SECRET, port: '5433' });
    expect((await endpoint()).client.port).toBe(5433);
    secretsManager.reset();
    const { port: _port, ...withoutPort } = RDS_SECRET;
    secretHolds(withoutPort);
    const { client: config, description } = await endpoint({}, { database: 'shop_drill' });
    expect(config).toMatchObject({ port: 5432, database: 'shop_drill' });
    expect(description).toContain('/shop_drill ');
  });

  it.each([
    ['host', { ...RDS_SECRET, host: undefined }, `Secrets Manager secret 'shop/prod/db' (database.connection) has no "host"; add it, or set database.connection.host`],
    ['dbname', { ...RDS_SECRET, dbname: '' }, `Secrets Manager secret 'shop/prod/db' (database.connection) has no "dbname"; add it, or set database.connection.database`],
    ['password', { ...RDS_SECRET, password: undefined }, `Secrets Manager secret 'shop/prod/db' (database.connection) has no "password"`],
    ['a port', { ...RDS_SECRET, port: 'fivefourthreetwo' }, `Secrets Manager secret 'shop/prod/db' (database.connection) has a "port" that is not a TCP port`],
  ])('names what is missing (%s), never a value of the secret', async (_what, document, message) => {
    secretHolds(document);
    const error = await failure(endpoint());
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(error.message).toBe(message);
    expect(error.message).not.toContain(PASSWORD);
  });

  it('refuses a secret that is not a JSON object without repeating its text', async () => {
    secretHolds(`postgres://shop_admin:${PASSWORD}@db/shop`);
    const error = await failure(endpoint());
    expect(error.message).toBe(`Secrets Manager secret 'shop/prod/db' (database.connection) is not a JSON object such as {"host", "port", "username", "password", "dbname"}`);
  });
});

describe('tlsOptions', () => {
  it('maps sslmode as libpq does: verify-full checks the certificate, require only encrypts, disable sends in clear', () => {
    expect(tlsOptions('verify-full')).toEqual({ rejectUnauthorized: true });
    expect(tlsOptions('require')).toEqual({ rejectUnauthorized: false });
    expect(tlsOptions('disable')).toBe(false);
  });
});

describe('databaseEndpoint against a PostgreSQL server', () => {
  const server = usePostgres();

  it('connects with what the secret holds', async () => {
    const url = new URL(server().url);
    secretHolds({ host: url.hostname, port: Number(url.port), username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) || 'unused', dbname: url.pathname.slice(1) });

    const { client: config } = await endpoint({ sslmode: 'disable' });
    const connection = new pg.Client(config);
    await connection.connect();
    try {
      expect((await connection.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await connection.end();
    }
  });
});
