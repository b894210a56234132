import { type ChildExit, ChildRun, type ChildRunOptions, describeExit } from './child-run';

/** How a configured command runs: its folder, environment, log and the label of its output lines. */
export type ShellCommandOptions = Omit<ChildRunOptions, 'shell'>;

/** Starts a configured command string through the shell, the way a person would type it. */
export function startShellCommand(command: string, options: ShellCommandOptions): ChildRun {
  return new ChildRun(command, command, [], { ...options, shell: true });
}

/** Commands an adapter started in the background, each kept under `<prefix>-<n>` for the status checks that follow. */
export class BackgroundRuns {
  private readonly runs = new Map<string, ChildRun>();
  private sequence = 0;

  /** Starts `command` through the shell and returns the reference it is kept under. */
  start(prefix: string, command: string, options: ShellCommandOptions): string {
    const ref = `${prefix}-${++this.sequence}`;
    this.runs.set(ref, startShellCommand(command, options));
    return ref;
  }

  /** The run kept under `ref`; undefined when this adapter did not start it. */
  get(ref: string | null): ChildRun | undefined {
    return ref ? this.runs.get(ref) : undefined;
  }
}

/** `"<command>" is running (pid <pid>)`, for a status check that finds it still running. */
export function runningDetail(run: ChildRun): string {
  return `"${run.description}" is running (pid ${run.pid})`;
}

/** Why a finished run failed: how it exited and the end of its stderr, passwords in URLs masked. */
export function failureDetail(run: ChildRun, exit: ChildExit): string {
  const stderr = run.stderrTail(8);
  return `"${run.description}" ${describeExit(exit)}${stderr ? `; stderr:\n${stderr}` : ''}`;
}
