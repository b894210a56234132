import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient, withDatabase } from '../../../adapters/local/pg-connection';
import { PostgresNotFoundError } from '../../../local/postgres/binaries';
import { PostgresStartError, type PostgresServer, startPostgres } from '../../../local/postgres/server';

let first: PostgresServer;
let second: PostgresServer;

beforeAll(async () => {
  [first, second] = await Promise.all([startPostgres(), startPostgres()]);
});

afterAll(async () => {
  await Promise.all([first?.stop(), second?.stop()]);
});

async function setting(url: string, name: string): Promise<string> {
  return withClient(url, async (client) => (await client.query<{ value: string }>('SELECT current_setting($1) AS value', [name])).rows[0].value);
}

async function connects(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    return 'connected';
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('startPostgres', () => {
  it('serves the postgres superuser on 127.0.0.1 at the port it reports', async () => {
    const url = new URL(first.url);

    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(first.port);
    expect(url.username).toBe('postgres');
    expect(await connects(first.url)).toBe('connected');
    expect(await setting(first.url, 'is_superuser')).toBe('on');
  });

  it('listens on 127.0.0.1 only, with its unix socket inside the data directory', async () => {
    expect(await setting(first.url, 'listen_addresses')).toBe('127.0.0.1');
    expect(await setting(first.url, 'unix_socket_directories')).toBe(first.dataDir);
    expect(await setting(first.url, 'data_directory')).toBe(first.dataDir);
  });

  it('fails when a TCP login has no password or a wrong one', async () => {
    const url = new URL(first.url);
    url.password = '';
    expect(await connects(url.toString())).not.toBe('connected');
    url.password = 'wrong-password';
    expect(await connects(url.toString())).toMatch(/password authentication failed for user "postgres"/);
  });

  it('gives each server its own port and directory', async () => {
    expect(second.port).not.toBe(first.port);
    expect(second.dataDir).not.toBe(first.dataDir);
    await withClient(first.url, (client) => client.query('CREATE DATABASE only_on_first'));

    expect(await connects(withDatabase(first.url, 'only_on_first'))).toBe('connected');
    expect(await connects(withDatabase(second.url, 'only_on_first'))).toMatch(/database "only_on_first" does not exist/);
  });

  it('runs the cluster as the postgres account when started by root, as the caller otherwise', () => {
    const expected = process.getuid?.() === 0 ? Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })) : process.getuid?.();

    expect(statSync(first.dataDir).uid).toBe(expected);
  });

  it('stops the server and removes its directory, and a second stop is harmless', async () => {
    const server = await startPostgres();
    expect(await connects(server.url)).toBe('connected');

    await server.stop();
    await server.stop();

    expect(existsSync(server.dataDir)).toBe(false);
    expect(await connects(server.url)).toMatch(/ECONNREFUSED/);
  });

  it('fails when binDir has no PostgreSQL, naming the directory, and leaves nothing behind', async () => {
    const parentDir = await mkdtemp(join(tmpdir(), 'pg-parent-'));
    try {
      const missing = join(parentDir, 'no-postgres-here');

      await expect(startPostgres({ binDir: missing, parentDir })).rejects.toThrow(PostgresNotFoundError);
      await expect(startPostgres({ binDir: missing, parentDir })).rejects.toThrow(`tried ${missing}`);
      expect(execFileSync('ls', ['-A', parentDir], { encoding: 'utf8' })).toBe('');
    } finally {
      await rm(parentDir, { recursive: true, force: true });
    }
  });
});

describe('startPostgres when the port is taken', () => {
  let blocker: Server;
  let taken: number;

  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    taken = (blocker.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
  });

  it('moves to another free port', async () => {
    const server = await startPostgres({ port: taken });
    try {
      expect(server.port).not.toBe(taken);
      expect(await connects(server.url)).toBe('connected');
    } finally {
      await server.stop();
    }
  });

  it('fails when no attempt is left, naming the port and the server log', async () => {
    const attempt = startPostgres({ port: taken, portAttempts: 1 });

    await expect(attempt).rejects.toThrow(PostgresStartError);
    await expect(attempt).rejects.toThrow(
      new RegExp(`^pg_ctl start \\(port ${taken}\\) exited with code 1: [\\s\\S]*could not bind IPv4 address "127\\.0\\.0\\.1"`),
    );
  });
});
