import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProcessTarget, type ProcessTargetConfig } from '../../../adapters/local/process-target';
import { DeploymentFailedError } from '../../../core/errors';
import type { DeployHandle } from '../../../core/model';
import { freePort } from '../../../local/free-port';
import { DEMO_SERVER } from '../../examples/demo-app-process';

const clock = { now: () => new Date('2025-01-02T03:04:05.000Z') };
const targets: ProcessTarget[] = [];

afterEach(async () => {
  await Promise.all(targets.splice(0).map((target) => target.stopAll()));
});

async function demoTarget(overrides: Partial<ProcessTargetConfig> = {}, env: NodeJS.ProcessEnv = {}) {
  const port = await freePort();
  const config: ProcessTargetConfig = { kind: 'process', command: [process.execPath, DEMO_SERVER], port, readyPath: '/health', env: {}, ...overrides };
  const lines: string[] = [];
  const target = new ProcessTarget(config, { env: { PATH: process.env.PATH, ...env }, log: (line) => lines.push(line), clock, statusWaitMs: 3000 });
  targets.push(target);
  return { target, port, lines };
}

async function health(port: number) {
  return (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { version: string };
}

const request = (version: string) => ({ version, image: null, deploymentId: `deploy-${version}` });

describe('ProcessTarget', () => {
  it('deploys v1, replaces it with v2, and rolls back to v1 on the same port', async () => {
    const { target, port } = await demoTarget();
    expect(await target.current()).toEqual({ version: null, image: null, ref: 'none' });

    const first = await target.deploy(request('v1'));
    expect(await target.status(first)).toMatchObject({ status: 'completed', detail: expect.stringContaining(`v1 (pid `) });
    expect(await health(port)).toMatchObject({ version: 'v1' });
    expect(await target.current()).toEqual({ version: 'v1', image: null, ref: 'v1' });

    const second = await target.deploy(request('v2'));
    expect(second).toEqual({ kind: 'process', ref: 'v2', version: 'v2', image: null, deploymentId: 'process-2', startedAt: '2025-01-02T03:04:05.000Z' });
    expect(await target.status(second)).toMatchObject({ status: 'completed' });
    expect(await health(port)).toMatchObject({ version: 'v2' });

    const back = await target.rollback({ version: 'v1', image: null, ref: 'v1' });
    expect(await target.status(back)).toMatchObject({ status: 'completed' });
    expect(await health(port)).toMatchObject({ version: 'v1' });
    expect(await target.current()).toMatchObject({ version: 'v1' });
  });

  it('rolls back to the version it replaced when the rollback target names none', async () => {
    const { target, port } = await demoTarget();
    await target.deploy(request('v1'));
    await target.deploy(request('v2'));

    const back = await target.rollback({ version: null, image: null, ref: 'none' });

    expect(back.version).toBe('v1');
    expect(await target.status(back)).toMatchObject({ status: 'completed' });
    expect(await health(port)).toMatchObject({ version: 'v1' });
  });

  it('stops the process on a rollback when nothing ran before the first deploy', async () => {
    const { target, port } = await demoTarget();
    await target.deploy(request('v1'));

    const back = await target.rollback({ version: null, image: null, ref: 'none' });

    expect(back).toMatchObject({ ref: 'none', version: null, deploymentId: null });
    expect(await target.status(back)).toMatchObject({ status: 'completed' });
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(await target.preflight()).toEqual([{ name: 'port', ok: true, detail: `port ${port} on 127.0.0.1 is free (nothing deployed yet)` }]);
  });

  it("fails when the version's process exits: DeploymentFailedError with the exit code and the stderr tail", async () => {
    const { target } = await demoTarget({}, { DEMO_FAULT: 'crash', DEMO_FAULT_VERSION: 'v2' });
    await target.deploy(request('v1'));

    const crashed = await target.deploy(request('v2'));

    const failure = await target.status(crashed).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DeploymentFailedError);
    expect((failure as Error).message).toBe(`v2 (${process.execPath} ${DEMO_SERVER}) exited with code 1; stderr:\ndemo-app v2: DEMO_FAULT=crash, exiting before listening`);
    expect(await target.current()).toMatchObject({ version: 'v2' });
    const back = await target.rollback({ version: 'v1', image: null, ref: 'v1' });
    expect(await target.status(back)).toMatchObject({ status: 'completed' });
  });

  it('reports in-progress while the ready path does not answer yet', async () => {
    const port = await freePort();
    const quick = new ProcessTarget({ kind: 'process', command: [process.execPath, '-e', 'setTimeout(() => {}, 30000)'], port, readyPath: '/health', env: {} }, { clock, readyTimeoutMs: 50, statusWaitMs: 50 });
    targets.push(quick);

    const handle = await quick.deploy(request('v1'));

    expect(await quick.status(handle)).toEqual({ status: 'in-progress', detail: expect.stringMatching(/^v1 \(pid \d+\) does not answer \/health yet$/), checkedAt: '2025-01-02T03:04:05.000Z' });
  });

  it('passes APP_VERSION, PORT and the configured env, substitutes {{version}} and logs the output by version', async () => {
    const script = 'console.log(process.argv[1], process.env.APP_VERSION, process.env.PORT, process.env.GREETING)';
    const { target, port, lines } = await demoTarget({ command: [process.execPath, '-e', script, 'arg-{{version}}'], env: { GREETING: 'hello' } });

    const handle = await target.deploy(request('v7'));

    await vi.waitFor(() => expect(lines).toContain(`[v7] arg-v7 v7 ${port} hello`));
    await expect(target.status(handle)).rejects.toThrow('v7 (');
  });

  it('fails when the command cannot be started, naming the spawn error', async () => {
    const { target } = await demoTarget({ command: ['/nonexistent/deploy-runbook-demo'] });
    const handle = await target.deploy(request('v1'));
    await expect(target.status(handle)).rejects.toThrow(new DeploymentFailedError('v1 (/nonexistent/deploy-runbook-demo) could not start: spawn /nonexistent/deploy-runbook-demo ENOENT'));
  });

  it('fails when another process listens on the port (preflight)', async () => {
    const port = await freePort();
    const squatter: Server = createServer((_req, res) => res.end('not ours'));
    await new Promise<void>((done) => squatter.listen(port, '127.0.0.1', done));
    try {
      const target = new ProcessTarget({ kind: 'process', command: [process.execPath, DEMO_SERVER], port, readyPath: '/health', env: {} });
      expect(await target.preflight()).toEqual([{ name: 'port', ok: false, detail: `port ${port} on 127.0.0.1 is in use by a process this rehearsal did not start` }]);
    } finally {
      await new Promise((done) => squatter.close(done));
    }
  });

  it('reports the running version in preflight', async () => {
    const { target, port } = await demoTarget();
    await target.deploy(request('v1'));

    const [check] = await target.preflight();

    expect(check).toMatchObject({ name: 'running version', ok: true, detail: expect.stringMatching(new RegExp(`^v1 \\(pid \\d+\\) answers /health on port ${port}$`)) });
  });

  it('fails when asked for the status of a deployment it did not start', async () => {
    const { target } = await demoTarget();
    const foreign: DeployHandle = { kind: 'process', ref: 'v9', version: 'v9', image: null, deploymentId: 'process-99', startedAt: '2025-01-01T00:00:00.000Z' };
    await expect(target.status(foreign)).rejects.toThrow(new DeploymentFailedError('the process target did not start deployment process-99 (version v9): it has no process to check'));
  });

  it('starts each version with the environment as it is then: a fault armed after v1 started hits v2 only', async () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    const port = await freePort();
    const target = new ProcessTarget({ kind: 'process', command: [process.execPath, DEMO_SERVER], port, readyPath: '/health', env: {} }, { env, clock, statusWaitMs: 3000 });
    targets.push(target);
    await target.deploy(request('v1'));
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    env.DEMO_FAULT = 'crash';
    const handle = await target.deploy(request('v2'));

    await expect(target.status(handle)).rejects.toThrow('DEMO_FAULT=crash');
  });

  it('leaves the running version up when released, reporting its pid', async () => {
    const { target, port } = await demoTarget();
    await target.deploy(request('v1'));

    const released = target.release();

    expect(released).toEqual({ version: 'v1', pid: expect.any(Number) });
    expect(await health(port)).toMatchObject({ version: 'v1' });
    process.kill(released?.pid ?? 0, 'SIGTERM');
  });

  it('masks passwords in connection URLs the process printed', async () => {
    const script = "console.error('cannot connect to postgres://app:hunter2@127.0.0.1:5432/shop'); process.exit(3)";
    const { target } = await demoTarget({ command: [process.execPath, '-e', script] });

    const handle = await target.deploy(request('v1'));

    const message = ((await target.status(handle).catch((error: unknown) => error)) as Error).message;
    expect(message).toContain('exited with code 3; stderr:\ncannot connect to postgres://app:***@127.0.0.1:5432/shop');
    expect(message).not.toContain('hunter2');
  });
});
