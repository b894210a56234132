import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parsePostgresUrl } from '../../adapters/local/pg-connection';
import { type PostgresServer, startPostgres } from '../../local/postgres/server';
import { createDatabase, seedShop } from '../local/postgres/fixtures';
import { EmulatedAws } from './emulated-aws';
import { PG_SECRET } from './stacks';

/** The `postgres` stack deployed over a throwaway PostgreSQL: what its scenarios start from. */
export interface PostgresStack {
  readonly aws: EmulatedAws;
  readonly server: PostgresServer;
  /** The seeded shop database. */
  readonly url: string;
  /** The server's password: a canary that must appear in no output. */
  readonly password: string;
  /** The connection secret's fields that reach the shop database (the RDS secret format). */
  readonly secret: () => { host: string; port: number; username: string; password: string; dbname: string };
  /** Stops moto, the function host and the PostgreSQL. */
  readonly stop: () => Promise<void>;
}

/** Starts a PostgreSQL on 127.0.0.1 with `database` seeded as the shop (300 customers, 1200 orders). */
export async function startSeededShop(database: string): Promise<Pick<PostgresStack, 'server' | 'url' | 'password'>> {
  const server = await startPostgres();
  const password = parsePostgresUrl(server.url).password ?? '';
  if (password === '') throw new Error('the throwaway PostgreSQL has no password: the canary checks would prove nothing');
  const url = await createDatabase(server, database);
  await seedShop(url, { customers: 300, orders: 1200 });
  return { server, url, password };
}

/**
 * Starts the seeded shop's PostgreSQL (startSeededShop), deploys `stack` (the `postgres` stack, or the `drill` one) into moto and stores the
 * connection secret the stack reads (PG_SECRET), pointing at it.
 */
export async function deployPostgresStack(database: string, stack: 'postgres' | 'drill' = 'postgres'): Promise<PostgresStack> {
  const { server, url, password } = await startSeededShop(database);
  // Compressed to 1/100: the 24-hour execution timeout is 14.4 minutes here. At the tier's usual 1/1000 (86.4 s), a
  // rollback that restores a dump with real pg_dump/pg_restore processes could outlast it on a loaded machine.
  const aws = await EmulatedAws.start({}, 0.01);
  await aws.deploy(stack);
  const secret = () => ({ host: '127.0.0.1', port: server.port, username: 'postgres', password, dbname: database });
  await new SecretsManagerClient(aws.operator.config).send(new CreateSecretCommand({ Name: PG_SECRET, SecretString: JSON.stringify(secret()) }));
  const stop = async () => {
    await Promise.allSettled([aws.stop(), server.stop()]);
  };
  return { aws, server, url, password, secret, stop };
}
