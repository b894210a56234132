import { describe, expect, it } from 'vitest';
import { BackgroundRuns, failureDetail, runningDetail } from '../../../adapters/local/background-runs';
import { commandFor } from '../../../adapters/command-template';
import { DeploymentFailedError, MigrationFailedError } from '../../../core/errors';

const options = { env: { PATH: process.env.PATH }, label: 'test' };

/** Starts `command` in the background and looks it up again by the reference it got. */
function keptRun(command: string) {
  const runs = new BackgroundRuns();
  const run = runs.get(runs.start('migration', command, options));
  if (!run) throw new Error(`${command} was not kept under its reference`);
  return run;
}

describe('BackgroundRuns', () => {
  it('keeps each run under its prefix and a number that counts up', async () => {
    const runs = new BackgroundRuns();
    expect(runs.start('deploy', 'true', options)).toBe('deploy-1');
    expect(runs.start('rollback', 'true', options)).toBe('rollback-2');
    const first = runs.get('deploy-1');
    expect(first?.description).toBe('true');
    await first?.exited;
    await runs.get('rollback-2')?.exited;
  });

  it('finds nothing under a reference it did not hand out', () => {
    const runs = new BackgroundRuns();
    expect(runs.get('deploy-1')).toBeUndefined();
    expect(runs.get(null)).toBeUndefined();
  });

  it('describes a running command by its pid and a failed one by its exit and stderr, URL passwords masked', async () => {
    const run = keptRun('echo "using postgres://app:hunter2@db/shop" >&2; exit 4');
    expect(runningDetail(run)).toBe(`"echo "using postgres://app:***@db/shop" >&2; exit 4" is running (pid ${run.pid})`);
    expect(failureDetail(run, await run.exited)).toBe('"echo "using postgres://app:***@db/shop" >&2; exit 4" exited with code 4; stderr:\nusing postgres://app:***@db/shop');
  });

  it('leaves stderr out of a failure that printed none', async () => {
    const run = keptRun('exit 2');
    expect(failureDetail(run, await run.exited)).toBe('"exit 2" exited with code 2');
  });
});

describe('commandFor', () => {
  it('fills the values in', () => {
    expect(commandFor('deploy.sh {{version}} {{ image }}', { version: 'v2', image: 'shop:v2' }, (message) => new DeploymentFailedError(message))).toBe('deploy.sh v2 shop:v2');
  });

  it.each([
    ['a deploy', (message: string) => new DeploymentFailedError(message), DeploymentFailedError],
    ['a migration', (message: string) => new MigrationFailedError(message), MigrationFailedError],
  ])('fails with the error of %s when a value would bring shell characters in', (_, toError, errorClass) => {
    const failing = () => commandFor('migrate {{version}}', { version: 'v2; rm -rf /', image: null }, toError);
    expect(failing).toThrow(errorClass);
    expect(failing).toThrow('{{version}} would put shell characters into "migrate {{version}}" (got "v2; rm -rf /")');
  });
});
