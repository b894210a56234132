import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { RunbookError } from '../../core/errors';
import type { ProgramResult } from '../../local/postgres/process';
import type { PostgresUrl } from '../local/pg-connection';
import { PG_DUMP_ARGS, PG_RESTORE_ARGS, type PgPrograms, type RunningDump, type StreamedExit } from '../local/pg-programs';

/** The sidecar could not be reached, or was asked for something it must not run. */
export class SidecarError extends RunbookError {}

/** Environment variable naming the directory both containers of the backup task share. */
export const WORK_DIR_ENV = 'DUMP_WORK_DIR';

/**
 * The postgres container's command (`sh -c`): it makes the two FIFOs, then serves one request at a time
 * from `request` (`<seq> <dump|restore|list> [database]`), moving the dump's bytes through `data` and
 * writing `exit.<seq>` (and `stderr.<seq>`, `stdout.<seq>`) when the program ends. The server and the
 * credentials come from the PG* variables the task definition fills from the connection secret; only a
 * database name, never a password, crosses the FIFO.
 */
export const SIDECAR_SCRIPT = [
  'set -u',
  `W="\${${WORK_DIR_ENV}:-/dump-work}"`,
  'mkfifo "$W/request" "$W/data" || exit 70',
  ': > "$W/ready"',
  'while read -r seq op db < "$W/request"; do',
  '  case "$op" in',
  `    dump) PGDATABASE="$db" pg_dump ${PG_DUMP_ARGS.join(' ')} > "$W/data" 2> "$W/stderr.$seq" ;;`,
  `    restore) pg_restore ${PG_RESTORE_ARGS.join(' ')} --dbname="$db" < "$W/data" > /dev/null 2> "$W/stderr.$seq" ;;`,
  '    list) pg_restore --list < "$W/data" > "$W/stdout.$seq" 2> "$W/stderr.$seq" ;;',
  '    exit) exit 0 ;;',
  '    *) echo "unknown request: $op" > "$W/stderr.$seq"; false ;;',
  '  esac',
  '  echo $? > "$W/exit.$seq.tmp" && mv "$W/exit.$seq.tmp" "$W/exit.$seq"',
  'done',
].join('\n');

/**
 * A database name the sidecar may be given: it lands in PGDATABASE or `--dbname`, where a name holding `=`
 * or a URI prefix would be read as connection parameters, and in a shell `read`, where blanks split words.
 */
const SAFE_DATABASE = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

export interface SidecarOptions {
  /** How often the exit file is looked for. @default 100 ms */
  readonly pollMs?: number;
  /** How long the sidecar may take to make its FIFOs. @default 2 minutes (the image may still be starting) */
  readonly readyTimeoutMs?: number;
}

/**
 * pg_dump and pg_restore run in the task's postgres container, driven from the Node container through the
 * FIFOs of SIDECAR_SCRIPT: the backup task's PgPrograms. Requests are served one at a time, in order.
 */
export class SidecarPgPrograms implements PgPrograms {
  readonly where: string;
  private sequence = 0;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dir: string,
    private readonly options: SidecarOptions = {},
  ) {
    this.where = `the postgres container, through ${dir}`;
  }

  dump(source: PostgresUrl): RunningDump {
    const output = new PassThrough();
    let reader: Readable | undefined;
    let stopped = false;
    const exit = this.serially(async () => {
      const seq = await this.request('dump', source.database);
      reader = createReadStream(join(this.dir, 'data'));
      if (stopped) reader.destroy();
      await pipeline(reader, output).catch((error: unknown) => output.destroy(error instanceof Error ? error : new Error(String(error))));
      return this.ended(seq);
    });
    exit.catch((error: unknown) => output.destroy(error instanceof Error ? error : new Error(String(error))));
    return {
      output,
      exit,
      stop: () => {
        stopped = true;
        // pg_dump then meets a closed pipe and ends.
        reader?.destroy();
      },
    };
  }

  restore(input: Readable, into: PostgresUrl): Promise<ProgramResult> {
    return this.serially(() => this.feed('restore', input, into.database));
  }

  list(input: Readable): Promise<ProgramResult> {
    return this.serially(() => this.feed('list', input));
  }

  /** Asks the sidecar to stop serving (it exits 0). */
  close(): Promise<void> {
    return this.serially(async () => {
      await this.request('exit');
    });
  }

  private async feed(op: 'restore' | 'list', input: Readable, database?: string): Promise<ProgramResult> {
    const seq = await this.request(op, database);
    const fed = await pipeline(input, createWriteStream(join(this.dir, 'data'))).then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
    const ended = await this.ended(seq);
    const stdout = op === 'list' ? await readFile(join(this.dir, `stdout.${seq}`), 'utf8') : '';
    if (fed && !isClosedPipe(fed)) {
      // A program that succeeded on a truncated input must not pass for one that read it all.
      if (ended.code === 0) throw fed;
      return { ...ended, stdout, stderr: `${ended.stderr}\n(reading the input failed: ${fed.message})` };
    }
    return { ...ended, stdout };
  }

  private async request(op: 'dump' | 'restore' | 'list' | 'exit', database?: string): Promise<number> {
    if (database !== undefined && !SAFE_DATABASE.test(database)) {
      throw new SidecarError(`database name "${database}" cannot be passed to pg_dump/pg_restore in the backup task: use letters, digits, _ $ - (at most 63, not starting with a digit)`);
    }
    await this.ready();
    const seq = ++this.sequence;
    // Opening the FIFO waits for the sidecar's `read`, so a request is never lost.
    await writeFile(join(this.dir, 'request'), `${seq} ${op} ${database ?? '-'}\n`);
    return seq;
  }

  private async ready(): Promise<void> {
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 120_000);
    while (!(await exists(join(this.dir, 'ready')))) {
      if (Date.now() >= deadline) throw new SidecarError(`the postgres container did not make its FIFOs in ${this.dir} within ${this.options.readyTimeoutMs ?? 120_000} ms`);
      await delay(this.options.pollMs ?? 100);
    }
  }

  /** Waits for the request's exit file: the program has ended and its outputs are written. */
  private async ended(seq: number): Promise<StreamedExit> {
    const exitFile = join(this.dir, `exit.${seq}`);
    while (!(await exists(exitFile))) await delay(this.options.pollMs ?? 100);
    const code = Number((await readFile(exitFile, 'utf8')).trim());
    const stderr = await readFile(join(this.dir, `stderr.${seq}`), 'utf8').catch(() => '');
    // The shell reports a program killed by a signal as 128 + the signal's number.
    return { code: Number.isInteger(code) ? code : null, signal: null, stderr };
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function isClosedPipe(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}
