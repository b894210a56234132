import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../local/free-port';
import { PrometheusStartError, type PrometheusServer, startPrometheus } from '../../../local/prometheus/server';

/** An app exposing one counter, raised by each GET /work. */
let app: Server;
let target: string;
let prometheus: PrometheusServer;
let work = 0;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'start-prometheus-'));
  app = createServer((req, res) => {
    if (req.url === '/work') work += 1;
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(req.url === '/metrics' ? `# TYPE work_total counter\nwork_total ${work}\n` : 'ok');
  });
  await new Promise<void>((done) => app.listen(0, '127.0.0.1', done));
  const address = app.address();
  target = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  prometheus = await startPrometheus({ targets: [target], parentDir: dir, scrapeIntervalMs: 200 });
});

afterAll(async () => {
  await prometheus?.stop();
  await new Promise((done) => app?.close(done));
  await rm(dir, { recursive: true, force: true });
});

async function query(promql: string): Promise<{ status: string; data: { result: { value: [number, string] }[] } }> {
  const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  return (await response.json()) as { status: string; data: { result: { value: [number, string] }[] } };
}

describe('startPrometheus', () => {
  it('listens on 127.0.0.1 at the port it reports, its files in a directory of its own', async () => {
    expect(prometheus.url).toBe(`http://127.0.0.1:${prometheus.port}`);
    expect((await fetch(`${prometheus.url}/-/ready`)).status).toBe(200);
    expect(prometheus.dir.startsWith(join(dir, 'deploy-runbook-prometheus-'))).toBe(true);
    expect(await readFile(join(prometheus.dir, 'prometheus.yml'), 'utf8')).toContain(`"targets": [\n            "${target}"`);
    expect(prometheus.pid).toBeGreaterThan(0);
  });

  it("scrapes the targets: scraped() resolves once they are up, and their samples answer PromQL", async () => {
    await prometheus.scraped();
    expect((await query(`up{instance="${target}"}`)).data.result[0].value[1]).toBe('1');

    for (let i = 0; i < 5; i++) await fetch(`http://${target}/work`).then((r) => r.text());
    const deadline = Date.now() + 10_000;
    let seen = '';
    while (Date.now() < deadline && seen !== '5') {
      seen = (await query('work_total')).data.result[0]?.value[1] ?? '';
      await new Promise((done) => setTimeout(done, 100));
    }
    expect(seen).toBe('5');
  });

  it('fails when a target does not answer within the time given, naming it', async () => {
    const down = `127.0.0.1:${await freePort()}`;
    const other = await startPrometheus({ targets: [down], parentDir: dir, scrapeIntervalMs: 200 });
    try {
      await expect(other.scraped(1500)).rejects.toThrow(PrometheusStartError);
      await expect(other.scraped(500)).rejects.toThrow(new RegExp(`has not scraped every target within 500 ms \\(${down}: (down|not scraped yet)\\)`));
    } finally {
      await other.stop();
    }
    expect(existsSync(other.dir)).toBe(false);
  });

  it('stops: the port refuses connections and the directory is gone; stopping twice is fine', async () => {
    const other = await startPrometheus({ targets: [target], parentDir: dir });
    await other.stop();
    await other.stop();

    expect(existsSync(other.dir)).toBe(false);
    await expect(fetch(`${other.url}/-/ready`)).rejects.toThrow();
  });

  it('leaves a released server running: stop does nothing after release', async () => {
    const other = await startPrometheus({ targets: [target], parentDir: dir });
    const pid = other.release();
    try {
      await other.stop();
      expect((await fetch(`${other.url}/-/ready`)).status).toBe(200);
      expect(existsSync(other.dir)).toBe(true);
    } finally {
      process.kill(pid as number, 'SIGTERM');
      await waitUntilGone(pid as number);
      await rm(other.dir, { recursive: true, force: true });
    }
  });

  it('fails when Prometheus exits at start, naming its log and quoting it', async () => {
    // Hangs up on whoever connects, so that closing it does not wait for the readiness probes' sockets.
    const taken = createTcpServer((socket) => socket.destroy());
    const port = await freePort();
    await new Promise<void>((done) => taken.listen(port, '127.0.0.1', done));
    try {
      const error = await startPrometheus({ targets: [target], parentDir: dir, port }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PrometheusStartError);
      const message = (error as Error).message;
      expect(message).toMatch(new RegExp(`^Prometheus \\(.*prometheus, port ${port}\\) exited with code \\d+; its log, kept as (${dir}/deploy-runbook-prometheus-\\w+\\.log): `));
      expect(message).toContain('address already in use');
      const kept = /kept as (\S+\.log):/.exec(message)?.[1] as string;
      expect(await readFile(kept, 'utf8')).toContain('address already in use');
      expect(existsSync(kept.replace(/\.log$/, ''))).toBe(false);
    } finally {
      await new Promise((done) => taken.close(done));
    }
  });

  it('fails when the program cannot be started, naming it', async () => {
    const program = join(dir, 'no-such-prometheus');

    await expect(startPrometheus({ targets: [target], parentDir: dir, program })).rejects.toThrow(`Prometheus (${program}, port`);
    await expect(startPrometheus({ targets: [target], parentDir: dir, program })).rejects.toThrow(/could not start: spawn .* ENOENT/);
  });

  it('fails when it does not become ready in time, stopping it', async () => {
    const program = join(dir, 'silent-prometheus');
    await writeFile(program, '#!/bin/sh\necho "starting slowly" >&2\nexec sleep 30\n');
    await chmod(program, 0o755);

    await expect(startPrometheus({ targets: [target], parentDir: dir, program, readyTimeoutMs: 500 })).rejects.toThrow(/did not answer http:\/\/127\.0\.0\.1:\d+\/-\/ready within 500 ms; its log, kept as .*: starting slowly/);
  });
});

async function waitUntilGone(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((done) => setTimeout(done, 50));
  }
}
