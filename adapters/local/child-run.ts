import { type ChildProcess, spawn } from 'node:child_process';
import { redact } from './pg-connection';

/** How a child process ended; `error` is set when it could not be started at all. */
export interface ChildExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: string;
}

export interface ChildRunOptions {
  readonly cwd?: string;
  readonly env: NodeJS.ProcessEnv;
  /** Prefixes each output line in the log, e.g. the version. */
  readonly label: string;
  /** Receives the child's output line by line; nothing is logged when absent. */
  readonly log?: (line: string) => void;
  /** Runs `file` through `/bin/sh -c` (configured command strings) instead of as an argv. */
  readonly shell?: boolean;
}

/** Only the end of a child's output ends up in an error message. */
const TAIL_CHARS = 4000;

/**
 * A child process that runs on its own while the runbook polls it: the adapters start one, return at
 * once, and read `exit()` on a later status check, the way a Lambda polls an ECS deployment.
 */
export class ChildRun {
  readonly exited: Promise<ChildExit>;
  private ended: ChildExit | null = null;
  private readonly child: ChildProcess;
  private readonly output = { stdout: '', stderr: '' };

  /** The command as a person would type it, URL passwords masked: for messages. */
  readonly description: string;

  constructor(description: string, file: string, args: readonly string[], options: ChildRunOptions) {
    this.description = redact(description, []);
    this.child = spawn(file, args, { cwd: options.cwd, env: options.env, shell: options.shell ?? false, stdio: ['ignore', 'pipe', 'pipe'] });
    this.collect('stdout', options);
    this.collect('stderr', options);
    this.exited = new Promise((resolve) => {
      // 'close' waits for the output pipes, so the tails are complete when the exit is known.
      this.child.once('close', (code, signal) => resolve(this.end({ code, signal })));
      this.child.once('error', (error) => resolve(this.end({ code: null, signal: null, error: error.message })));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Null while it runs. */
  exit(): ChildExit | null {
    return this.ended;
  }

  /** The end of stderr, passwords in URLs masked. */
  stderrTail(lines = 12): string {
    return lastLines(this.output.stderr, lines);
  }

  stdoutTail(lines = 12): string {
    return lastLines(this.output.stdout, lines);
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs: number): Promise<ChildExit> {
    if (this.ended) return this.ended;
    return stopGracefully(this.child, this.exited, graceMs);
  }

  /**
   * Lets the process outlive ours (`rehearse --keep`): its output is no longer read and it no longer
   * keeps this process alive. It must not need its stdout any more: Node ignores the broken pipe in console calls.
   */
  release(): void {
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    this.child.unref();
  }

  private end(exit: ChildExit): ChildExit {
    this.ended ??= exit;
    return this.ended;
  }

  private collect(stream: 'stdout' | 'stderr', options: ChildRunOptions): void {
    const source = this.child[stream];
    if (!source) return;
    source.setEncoding('utf8');
    let partial = '';
    source.on('data', (chunk: string) => {
      this.output[stream] = (this.output[stream] + chunk).slice(-TAIL_CHARS);
      if (!options.log) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.log(`[${options.label}] ${redact(line, [])}`);
    });
    source.on('end', () => {
      if (options.log && partial) options.log(`[${options.label}] ${redact(partial, [])}`);
    });
  }
}

/** SIGTERM, then SIGKILL when `child` has not exited after `graceMs`; resolves with `exited` once it has. */
export async function stopGracefully<T>(child: ChildProcess, exited: Promise<T>, graceMs: number): Promise<T> {
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([exited, forced]);
  clearTimeout(timer);
  return exited;
}

/** `exited with code 1`, `was killed by SIGKILL`, `could not start: spawn x ENOENT`. */
export function describeExit(exit: ChildExit): string {
  if (exit.error !== undefined) return `could not start: ${exit.error}`;
  if (exit.code !== null) return `exited with code ${exit.code}`;
  return `was killed by ${exit.signal ?? 'a signal'}`;
}

function lastLines(text: string, lines: number): string {
  return redact(text.trim().split('\n').slice(-lines).join('\n'), []);
}
