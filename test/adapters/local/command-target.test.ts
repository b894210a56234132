import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CommandTarget, type CommandTargetConfig } from '../../../adapters/local/command-target';
import { DeploymentFailedError, PreflightFailedError } from '../../../core/errors';
import type { DeployHandle } from '../../../core/model';

const clock = { now: () => new Date('2025-01-02T03:04:05.000Z') };
const IMAGE = 'registry.example.com:5000/shop-api:v2';

function target(overrides: Partial<CommandTargetConfig> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'command-target-'));
  const config: CommandTargetConfig = {
    kind: 'command',
    deploy: 'echo "deploy {{version}} {{image}}" >> actions.log',
    rollback: 'echo "rollback {{ version }}" >> actions.log',
    current: 'echo starting up; echo v1',
    cwd: dir,
    ...overrides,
  };
  return { target: new CommandTarget(config, { env: { PATH: process.env.PATH }, clock }), actions: () => readFileSync(join(dir, 'actions.log'), 'utf8') };
}

async function completed(commands: CommandTarget, handle: DeployHandle) {
  return vi.waitFor(async () => {
    const status = await commands.status(handle);
    expect(status.status).toBe('completed');
    return status;
  });
}

describe('CommandTarget', () => {
  it('runs the deploy command with {{version}} and {{image}} filled in and reports completion on exit 0', async () => {
    const { target: commands, actions } = target();

    const handle = await commands.deploy({ version: 'v2', image: IMAGE, deploymentId: 'd-1' });

    expect(handle).toEqual({ kind: 'command', ref: 'v2', version: 'v2', image: IMAGE, deploymentId: 'deploy-1', startedAt: '2025-01-02T03:04:05.000Z' });
    expect(await completed(commands, handle)).toEqual({ status: 'completed', detail: `"echo "deploy v2 ${IMAGE}" >> actions.log" exited with code 0`, checkedAt: '2025-01-02T03:04:05.000Z' });
    expect(actions()).toBe(`deploy v2 ${IMAGE}\n`);
  });

  it('reports in-progress while the command runs', async () => {
    const { target: commands } = target({ deploy: 'sleep 5' });
    const handle = await commands.deploy({ version: 'v2', image: null, deploymentId: 'd-1' });
    expect(await commands.status(handle)).toMatchObject({ status: 'in-progress', detail: expect.stringMatching(/^"sleep 5" is running \(pid \d+\)$/) });
  });

  it('runs the rollback command with the recorded version', async () => {
    const { target: commands, actions } = target();
    const handle = await commands.rollback({ version: 'v1', image: null, ref: 'v1' });
    await completed(commands, handle);
    expect(handle.deploymentId).toBe('rollback-1');
    expect(actions()).toBe('rollback v1\n');
  });

  it('fails when the deploy command exits non-zero, with the code and the end of stderr', async () => {
    const { target: commands } = target({ deploy: 'echo "pulling {{version}}"; echo "manifest unknown" >&2; exit 4' });
    const handle = await commands.deploy({ version: 'v2', image: null, deploymentId: 'd-1' });

    const failure = await vi.waitFor(async () => {
      const error = await commands.status(handle).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DeploymentFailedError);
      return error as Error;
    });

    expect(failure.message).toBe('"echo "pulling v2"; echo "manifest unknown" >&2; exit 4" exited with code 4; stderr:\nmanifest unknown');
  });

  it('fails when a value would bring shell characters into the command', async () => {
    const { target: commands } = target();
    await expect(commands.deploy({ version: 'v2', image: 'x;rm -rf /', deploymentId: 'd-1' })).rejects.toThrow(
      new DeploymentFailedError('{{image}} would put shell characters into "echo "deploy {{version}} {{image}}" >> actions.log" (got "x;rm -rf /")'),
    );
  });

  it('fails when there is no version to roll back to', async () => {
    const { target: commands } = target();
    await expect(commands.rollback({ version: null, image: null, ref: 'none' })).rejects.toThrow(DeploymentFailedError);
  });

  it('reads the current version from the last line of the current command', async () => {
    const { target: commands } = target();
    expect(await commands.current()).toEqual({ version: 'v1', image: null, ref: 'v1' });
    expect(await commands.preflight()).toEqual([{ name: 'current version', ok: true, detail: '"echo starting up; echo v1" printed v1' }]);
  });

  it('fails when the current command fails: PreflightFailedError, and a failed preflight check', async () => {
    const { target: commands } = target({ current: 'echo "no such service" >&2; exit 2' });
    await expect(commands.current()).rejects.toThrow(new PreflightFailedError('"echo "no such service" >&2; exit 2" (target.current) exited with code 2: no such service'));
    expect(await commands.preflight()).toEqual([{ name: 'current version', ok: false, detail: '"echo "no such service" >&2; exit 2" (target.current) exited with code 2: no such service' }]);
  });

  it('fails when the current command prints nothing', async () => {
    const { target: commands } = target({ current: 'true' });
    await expect(commands.current()).rejects.toThrow('printed no version');
  });
});
