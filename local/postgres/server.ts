import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunbookError } from '../../core/errors';
import { freePort } from '../free-port';
import { findPostgresBinaries } from './binaries';
import { programEnv, type ProgramResult, runProgram, tail } from './process';

/** initdb or pg_ctl failed; the message carries the end of the server log. */
export class PostgresStartError extends RunbookError {}

/** A throwaway PostgreSQL on 127.0.0.1, owned by whoever started it. */
export interface PostgresServer {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Where the server's programs (and the matching pg_dump/pg_restore) are. */
  readonly binDir: string;
  /** Stops the server (`-m fast`) and deletes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Tuning for startPostgres; every field has a working default. */
export interface StartPostgresOptions {
  /** @default the newest installed PostgreSQL (see findPostgresBinaries) */
  readonly binDir?: string;
  /** Parent of the server's temporary directory. @default os.tmpdir() */
  readonly parentDir?: string;
  /** Port to try first; when it is taken, a free one chosen by the OS is used instead. @default a free port */
  readonly port?: number;
  /** Ports tried before giving up when another process takes the chosen port first. @default 5 */
  readonly portAttempts?: number;
}

const SUPERUSER = 'postgres';
/** The OS account that owns the cluster when we run as root: PostgreSQL refuses to run as root. */
const SERVICE_ACCOUNT = 'postgres';

/**
 * Starts a fresh PostgreSQL cluster for a test, a benchmark or a rehearsal: initdb into a new
 * temporary directory, listen on 127.0.0.1 only (a free port chosen by the OS), password login for the
 * `postgres` superuser over TCP, the unix socket kept inside the data directory.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const { binDir } = findPostgresBinaries(options.binDir === undefined ? {} : { binDir: options.binDir });
  const owner = serviceOwner();
  const baseDir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'deploy-runbook-pg-'));
  const dataDir = join(baseDir, 'data');
  const password = randomBytes(18).toString('base64url');
  const run = (program: string, args: string[]): Promise<ProgramResult> => {
    const file = join(binDir, program);
    // runuser keeps our environment (minus PG*), so only the uid changes.
    const env = programEnv({ LC_ALL: 'C' });
    return owner ? runProgram('runuser', ['-u', SERVICE_ACCOUNT, '--', file, ...args], { env }) : runProgram(file, args, { env });
  };
  try {
    if (owner) await chown(baseDir, owner.uid, owner.gid);
    const passwordFile = join(baseDir, 'pwfile');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (owner) await chown(passwordFile, owner.uid, owner.gid);
    const init = await run('initdb', ['-D', dataDir, '-U', SUPERUSER, `--pwfile=${passwordFile}`, '--auth-local=trust', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await rm(passwordFile, { force: true });
    if (init.code !== 0) throw new PostgresStartError(`initdb -D ${dataDir} exited with ${describeExit(init)}: ${tail(init.stderr)}`);

    const attempts = options.portAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      // Another process may take a free port before PostgreSQL binds it, hence the attempts.
      const port = attempt === 1 && options.port !== undefined ? options.port : await freePort();
      await appendFile(
        join(dataDir, 'postgresql.conf'),
        [
          '',
          "listen_addresses = '127.0.0.1'",
          `port = ${port}`,
          `unix_socket_directories = '${dataDir}'`,
          // A throwaway cluster: losing it in a power cut is fine, and tests and benchmarks run faster.
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          '',
        ].join('\n'),
      );
      // One log per attempt, so that an earlier attempt's bind error is not mistaken for this one's.
      const logFile = join(baseDir, `server-${attempt}.log`);
      const start = await run('pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start']);
      if (start.code === 0) return handle({ binDir, baseDir, dataDir, port, password, run });
      const log = await readFile(logFile, 'utf8').catch(() => '');
      if (!/could not bind|already in use/i.test(log) || attempt >= attempts) {
        throw new PostgresStartError(`pg_ctl start (port ${port}) exited with ${describeExit(start)}: ${tail(`${start.stderr}\n${log}`)}`);
      }
    }
  } catch (error) {
    // pg_ctl gives up waiting after its timeout but leaves a slow server running: stop it before deleting its files.
    if (existsSync(join(dataDir, 'postmaster.pid'))) await run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    await rm(baseDir, { recursive: true, force: true });
    throw error;
  }
}

function handle(server: {
  binDir: string;
  baseDir: string;
  dataDir: string;
  port: number;
  password: string;
  run: (program: string, args: string[]) => Promise<ProgramResult>;
}): PostgresServer {
  let stopping: Promise<void> | undefined;
  return {
    url: `postgres://${SUPERUSER}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/postgres`,
    port: server.port,
    dataDir: server.dataDir,
    binDir: server.binDir,
    stop() {
      stopping ??= (async () => {
        const stop = await server.run('pg_ctl', ['-D', server.dataDir, '-m', 'fast', '-w', 'stop']);
        await rm(server.baseDir, { recursive: true, force: true });
        if (stop.code !== 0) throw new PostgresStartError(`pg_ctl stop -D ${server.dataDir} exited with ${describeExit(stop)}: ${tail(stop.stderr)}`);
      })();
      return stopping;
    },
  };
}

/** When we are root, the uid/gid of the service account the cluster must belong to; null otherwise. */
function serviceOwner(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync('id', ['-u', SERVICE_ACCOUNT], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', SERVICE_ACCOUNT], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new PostgresStartError(
      `running as root, PostgreSQL must run as another user, but there is no '${SERVICE_ACCOUNT}' account (the postgresql package creates it)`,
    );
  }
}

function describeExit(result: ProgramResult): string {
  return result.code === null ? `signal ${result.signal}` : `code ${result.code}`;
}

