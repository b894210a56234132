import type { MigrationsConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../lambdas/ports/clock';
import type { Migrator } from '../../lambdas/ports/migrator';
import { MigrationFailedError } from '../../lambdas/shared/errors';
import type { DeployHandle, MigrationsState } from '../../lambdas/shared/model';
import { ChildRun, describeExit } from './child-run';
import { fillCommand } from './command-template';

export type CommandMigrationsConfig = Extract<MigrationsConfig, { kind: 'command' }>;

export interface CommandMigratorOptions {
  /** The environment the command runs with; it carries DATABASE_URL. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives the command's output, one line at a time. */
  readonly log?: (line: string) => void;
  readonly clock?: Clock;
}

/**
 * Runs the migration command of the version just deployed (e.g. `node examples/demo-app/migrate.mjs
 * {{version}}`) as a child process; the state machine's status loop waits for its exit.
 */
export class CommandMigrator implements Migrator {
  private readonly runs = new Map<string, ChildRun>();
  private sequence = 0;
  private readonly clock: Clock;

  constructor(
    private readonly config: CommandMigrationsConfig,
    private readonly options: CommandMigratorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async start(release: DeployHandle): Promise<MigrationsState> {
    let command: string;
    try {
      command = fillCommand(this.config.command, { version: release.version, image: release.image });
    } catch (error) {
      throw new MigrationFailedError((error as Error).message);
    }
    const ref = `migration-${++this.sequence}`;
    const run = new ChildRun(command, command, [], {
      cwd: this.config.cwd,
      env: this.options.env ?? process.env,
      label: `migrate ${release.version ?? ''}`.trim(),
      log: this.options.log,
      shell: true,
    });
    this.runs.set(ref, run);
    return { started: true, status: 'running', ref, startedAt: this.clock.now().toISOString(), finishedAt: null, detail: `"${command}" is running` };
  }

  /** `running` until the command exits; `succeeded` on exit code 0; MigrationFailedError otherwise. */
  async status(state: MigrationsState): Promise<MigrationsState> {
    const run = state.ref ? this.runs.get(state.ref) : undefined;
    if (!run) throw new MigrationFailedError(`no migration run ${state.ref} was started by this rehearsal (migrations.ref)`);
    const exit = run.exit();
    if (!exit) return { ...state, status: 'running', detail: `"${run.description}" is running (pid ${run.pid})` };
    if (exit.code !== 0) {
      const stderr = run.stderrTail(8);
      throw new MigrationFailedError(`"${run.description}" ${describeExit(exit)}${stderr ? `; stderr:\n${stderr}` : ''}`);
    }
    const lastLine = run.stdoutTail(1);
    return { ...state, status: 'succeeded', finishedAt: this.clock.now().toISOString(), detail: lastLine || `"${run.description}" exited with code 0` };
  }
}
