import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A finished program's exit and captured output. */
export interface ProgramResult extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

/** How runProgram starts a program. */
export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Streamed into the program's stdin; the program may stop reading early (pg_restore --list does). */
  readonly input?: Readable;
}

/** Keeps a chatty program from filling memory: only the end of its output matters in an error message. */
const MAX_CAPTURE_BYTES = 1024 * 1024;

/**
 * The environment for a PostgreSQL program: the caller's, minus every `PG*` variable, so that a stray
 * PGHOST/PGPORT/PGDATA on the machine never redirects a rehearsal to another server.
 */
export function programEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('PG')) env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Resolves when the process has exited and its output is closed; rejects when it could not be started. */
export function exitOf(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/** Collects a stream's text, keeping its last MAX_CAPTURE_BYTES. */
export function capture(stream: Readable | null): () => string {
  let text = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-MAX_CAPTURE_BYTES);
  });
  return () => text;
}

/** Runs a program to completion and returns its output; a non-zero exit is returned, not thrown. */
export async function runProgram(file: string, args: readonly string[], options: RunOptions = {}): Promise<ProgramResult> {
  const child = spawn(file, args, { env: options.env ?? programEnv(), stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  const stdout = capture(child.stdout);
  const stderr = capture(child.stderr);
  const feeding = options.input && child.stdin ? feed(options.input, child.stdin) : Promise.resolve(undefined);
  const [exit, feedError] = await Promise.all([exitOf(child), feeding]);
  if (!feedError || isClosedPipe(feedError)) return { ...exit, stdout: stdout(), stderr: stderr() };
  // A program that succeeded on a truncated input must not pass for one that read it all.
  if (exit.code === 0) throw feedError;
  return { ...exit, stdout: stdout(), stderr: `${stderr()}\n(reading the input failed: ${feedError.message})` };
}

/** Pipes input into a child's stdin; resolves with the error instead of rejecting so the exit code decides. */
async function feed(input: Readable, stdin: NodeJS.WritableStream): Promise<Error | undefined> {
  try {
    await pipeline(input, stdin);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The reader went away before the end of the input: expected when a program has read all it needs. */
function isClosedPipe(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

/** The last lines of a program's stderr, for an error message. */
export function tail(text: string, lines = 12): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
