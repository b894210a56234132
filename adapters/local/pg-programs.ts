import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { findPostgresBinaries } from '../../local/postgres/binaries';
import { capture, type Exit, exitOf, type ProgramResult, programEnv, runProgram } from '../../local/postgres/process';
import type { PostgresUrl } from './pg-connection';

/** How a program whose output was streamed ended: its exit and the end of its stderr. */
export interface StreamedExit extends Exit {
  readonly stderr: string;
}

/** A running pg_dump: its output, to be read to the end, and how it ended. */
export interface RunningDump {
  readonly output: Readable;
  /** Rejects only when the program could not be started at all. */
  readonly exit: Promise<StreamedExit>;
  /** Ends the dump early (its reader failed). */
  stop(): void;
}

/** pg_dump waits this long for its share locks, so a migration holding a table never hangs the backup. */
export const LOCK_WAIT_TIMEOUT_MS = 120_000;

/**
 * The PostgreSQL client programs a backup and a restore run, wherever they are: spawned here from a bin
 * directory (the rehearsal), or in the postgres container beside the backup task on AWS (adapters/aws/pg-sidecar.ts).
 * The caller streams the bytes; the programs never see the artifact store.
 */
export interface PgPrograms {
  /** Where the programs run, for messages (a directory, a container). */
  readonly where: string;
  /** `pg_dump --format=custom` of the database. */
  dump(source: PostgresUrl): RunningDump;
  /** `pg_restore` of a custom-format dump into an existing, empty database, in one transaction. */
  restore(input: Readable, into: PostgresUrl): Promise<ProgramResult>;
  /** `pg_restore --list` of a dump: reads only its table of contents, then stops reading. */
  list(input: Readable): Promise<ProgramResult>;
}

/** The arguments every pg_dump of a backup gets, before the one naming the database. */
export const PG_DUMP_ARGS = ['--format=custom', '--no-password', `--lock-wait-timeout=${LOCK_WAIT_TIMEOUT_MS}`] as const;
/** The arguments every pg_restore of a restore gets, before the one naming the database. */
export const PG_RESTORE_ARGS = ['--no-owner', '--exit-on-error', '--single-transaction', '--no-password'] as const;

/** The programs of a local PostgreSQL installation, spawned as children with the password in their environment only. */
export class LocalPgPrograms implements PgPrograms {
  readonly where: string;

  /** @param binDir where pg_dump and pg_restore are; @default the newest installed PostgreSQL */
  constructor(binDir?: string) {
    this.where = binDir ?? findPostgresBinaries({ programs: ['pg_dump', 'pg_restore'] }).binDir;
  }

  dump(source: PostgresUrl): RunningDump {
    const child = spawn(join(this.where, 'pg_dump'), [...PG_DUMP_ARGS, `--dbname=${source.safeUrl}`], {
      env: programEnv({ PGPASSWORD: source.password }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stderr = capture(child.stderr);
    return {
      output: child.stdout,
      exit: exitOf(child).then((exit) => ({ ...exit, stderr: stderr() })),
      stop: () => child.kill(),
    };
  }

  restore(input: Readable, into: PostgresUrl): Promise<ProgramResult> {
    return runProgram(join(this.where, 'pg_restore'), [...PG_RESTORE_ARGS, `--dbname=${into.safeUrl}`], {
      input,
      env: programEnv({ PGPASSWORD: into.password }),
    });
  }

  list(input: Readable): Promise<ProgramResult> {
    return runProgram(join(this.where, 'pg_restore'), ['--list'], { input, env: programEnv() });
  }
}
