import { chmodSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { expect } from 'vitest';
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

/**
 * What every scenario on a postgres stack leaves checked: each call of the functions, the state machine, the task
 * and ECS (for the task's secrets) was allowed by its synthesized policy; the database password is in no
 * function's log and no container's output.
 */
export function expectAllowedAndNoPasswordLeaked(aws: EmulatedAws, password: string): void {
  expect(aws.denied()).toEqual([]);
  expect(aws.host.logsContaining(password)).toEqual([]);
  expect(aws.moto.taskOutput().filter((output) => output.line.includes(password))).toEqual([]);
}

/**
 * Until the returned function is called, every bridged task's `pg_dump` first runs `sql` against the database it is
 * about to dump, committed before the dump's snapshot: the rows an app keeps writing between FingerprintData and the
 * backup, landing at the latest moment they can. Tier-only, in the harness: the task's PATH starts with a folder
 * (moto/launch.py's `localBin`) holding the machine's PostgreSQL programs, `pg_dump` there a script that runs
 * `sql` through the machine's psql with the container's own connection (the task's PG* variables, PGDATABASE the
 * database the sidecar dumps), then execs the machine's pg_dump with the sidecar's arguments. The task definition,
 * its command and the product are unchanged. A failing write fails the dump (exit 97, psql's error on its stderr).
 */
export function writeDuringDump(aws: EmulatedAws, sql: string): () => void {
  const bridge = aws.moto.currentControl().bridge ?? {};
  if (Object.keys(bridge).length === 0) throw new Error('writeDuringDump: the deployed stack has no bridged task whose pg_dump could write');
  const dir = mkdtempSync(join(tmpdir(), 'tier-write-during-dump-'));
  const bins = new Set(Object.values(bridge).map((task) => task.localBin));
  if (bins.size !== 1) throw new Error(`writeDuringDump: the bridged tasks use ${bins.size} PostgreSQL folders, expected one`);
  const [real] = bins;
  for (const program of readdirSync(real).filter((name) => name !== 'pg_dump')) symlinkSync(join(real, program), join(dir, program));
  writeFileSync(join(dir, 'during-dump.sql'), sql);
  writeFileSync(
    join(dir, 'pg_dump'),
    [
      '#!/bin/sh',
      '# Tier-only (test/emulated-aws/postgres-stack.ts writeDuringDump): a write committed just before the dump starts.',
      `"${real}/psql" -X -q -v ON_ERROR_STOP=1 -f "${dir}/during-dump.sql" > /dev/null || exit 97`,
      `exec "${real}/pg_dump" "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(join(dir, 'pg_dump'), 0o755);
  aws.setControl({ bridge: Object.fromEntries(Object.entries(bridge).map(([family, task]) => [family, { ...task, localBin: dir }])) });
  return () => {
    aws.setControl({ bridge });
    rmSync(dir, { recursive: true, force: true });
  };
}
