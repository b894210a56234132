import type { MigrationsConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { Migrator } from '../../core/ports/migrator';
import { MigrationFailedError } from '../../core/errors';
import type { DeployHandle, MigrationsState } from '../../core/model';
import { BackgroundRuns, failureDetail, runningDetail } from './background-runs';
import { commandFor } from '../command-template';

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
  private readonly runs = new BackgroundRuns();
  private readonly clock: Clock;

  constructor(
    private readonly config: CommandMigrationsConfig,
    private readonly options: CommandMigratorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  async start(release: DeployHandle): Promise<MigrationsState> {
    const command = commandFor(this.config.command, { version: release.version, image: release.image }, (message) => new MigrationFailedError(message));
    const ref = this.runs.start('migration', command, {
      cwd: this.config.cwd,
      env: this.options.env ?? process.env,
      label: `migrate ${release.version ?? ''}`.trim(),
      log: this.options.log,
    });
    const run = this.runs.get(ref);
    // The run's description has passwords in URLs masked; the raw command may not.
    return { started: true, status: 'running', ref, startedAt: this.clock.now().toISOString(), finishedAt: null, detail: run ? runningDetail(run) : 'started' };
  }

  /** `running` until the command exits; `succeeded` on exit code 0; MigrationFailedError otherwise. */
  async status(state: MigrationsState): Promise<MigrationsState> {
    const run = this.runs.get(state.ref);
    if (!run) throw new MigrationFailedError(`no migration run ${state.ref} was started by this rehearsal (migrations.ref)`);
    const exit = run.exit();
    if (!exit) return { ...state, status: 'running', detail: runningDetail(run) };
    if (exit.code !== 0) throw new MigrationFailedError(failureDetail(run, exit));
    const lastLine = run.stdoutTail(1);
    return { ...state, status: 'succeeded', finishedAt: this.clock.now().toISOString(), detail: lastLine || `"${run.description}" exited with code 0` };
  }
}
