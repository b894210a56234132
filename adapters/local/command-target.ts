import type { TargetConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { DeployRequest, DeployTarget } from '../../core/ports/deploy-target';
import { DeploymentFailedError, PreflightFailedError } from '../../core/errors';
import type { DeployedVersion, DeployHandle, DeployStatus, PreflightCheck } from '../../core/model';
import { BackgroundRuns, failureDetail, runningDetail, startShellCommand } from './background-runs';
import { describeExit } from './child-run';
import { commandFor } from '../command-template';

export type CommandTargetConfig = Extract<TargetConfig, { kind: 'command' }>;

export interface CommandTargetOptions {
  /** The environment the commands run with. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Receives the commands' output, one line at a time. */
  readonly log?: (line: string) => void;
  readonly clock?: Clock;
  /** How long the `current` command may take. @default 30000 */
  readonly currentTimeoutMs?: number;
}

/**
 * Rehearsal target driven by shell commands (`deploy`, `rollback`, `current`), for teams whose deploy
 * is a script. A deploy or rollback runs in the background; `status` reports its exit.
 */
export class CommandTarget implements DeployTarget {
  private readonly runs = new BackgroundRuns();
  private readonly clock: Clock;

  constructor(
    private readonly config: CommandTargetConfig,
    private readonly options: CommandTargetOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
  }

  /** Runs the `current` command; its last line of output is the version. */
  async current(): Promise<DeployedVersion> {
    const version = await this.readCurrent();
    return { version, image: null, ref: version };
  }

  async preflight(): Promise<PreflightCheck[]> {
    try {
      const version = await this.readCurrent();
      return [{ name: 'current version', ok: true, detail: `"${this.config.current}" printed ${version}` }];
    } catch (error) {
      return [{ name: 'current version', ok: false, detail: (error as Error).message }];
    }
  }

  async deploy(request: DeployRequest): Promise<DeployHandle> {
    return this.launch('deploy', this.config.deploy, request.version, request.image);
  }

  async rollback(to: DeployedVersion): Promise<DeployHandle> {
    if (to.version === null) {
      throw new DeploymentFailedError(`the rollback command needs a version, but none was recorded before the deploy (rollbackTo.ref ${to.ref})`);
    }
    return this.launch('rollback', this.config.rollback, to.version, to.image);
  }

  async status(handle: DeployHandle): Promise<DeployStatus> {
    const run = this.runs.get(handle.deploymentId);
    if (!run) throw new DeploymentFailedError(`the command target did not start ${handle.deploymentId} (version ${handle.version}): nothing to check`);
    const checkedAt = this.clock.now().toISOString();
    const exit = run.exit();
    if (!exit) return { status: 'in-progress', detail: runningDetail(run), checkedAt };
    if (exit.code === 0) return { status: 'completed', detail: `"${run.description}" exited with code 0`, checkedAt };
    throw new DeploymentFailedError(failureDetail(run, exit));
  }

  private async launch(action: 'deploy' | 'rollback', template: string, version: string, image: string | null): Promise<DeployHandle> {
    const command = commandFor(template, { version, image }, (message) => new DeploymentFailedError(message));
    const deploymentId = this.runs.start(action, command, { cwd: this.config.cwd, env: this.env(), label: `${action} ${version}`, log: this.options.log });
    return { kind: 'command', ref: version, version, image, deploymentId, startedAt: this.clock.now().toISOString() };
  }

  private async readCurrent(): Promise<string> {
    const command = this.config.current;
    const run = startShellCommand(command, { cwd: this.config.cwd, env: this.env(), label: 'current', log: this.options.log });
    const timeoutMs = this.options.currentTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const exit = await Promise.race([run.exited, timedOut]);
    clearTimeout(timer);
    if (exit === 'timeout') {
      await run.stop(1000);
      throw new PreflightFailedError(`"${command}" (target.current) did not finish within ${timeoutMs} ms`);
    }
    if (exit.code !== 0) throw new PreflightFailedError(`"${command}" (target.current) ${describeExit(exit)}: ${run.stderrTail(4) || 'no stderr'}`);
    const version = run.stdoutTail(1).trim();
    if (version === '') throw new PreflightFailedError(`"${command}" (target.current) printed no version (got an empty output)`);
    return version;
  }

  private env(): NodeJS.ProcessEnv {
    return this.options.env ?? process.env;
  }
}
