import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = resolve(import.meta.dirname, '../../scripts/ensure-prometheus.sh');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ensure-prometheus-'));
  await writeFile(join(dir, 'prometheus'), '#!/bin/sh\n');
  await chmod(join(dir, 'prometheus'), 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function ensure(env: Record<string, string>) {
  return spawnSync('bash', [SCRIPT], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
}

describe('scripts/ensure-prometheus.sh (npm pretest and prerehearse)', () => {
  it('does nothing, silently, when Prometheus is installed', () => {
    expect(ensure({})).toMatchObject({ status: 0, stdout: '', stderr: '' });
    expect(ensure({ PROMETHEUS_BIN: join(dir, 'prometheus') })).toMatchObject({ status: 0, stderr: '' });
  });

  it('installs nothing for a PROMETHEUS_BIN that is missing, saying so, and lets the rest run', () => {
    const run = ensure({ PROMETHEUS_BIN: join(dir, 'missing') });

    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`PROMETHEUS_BIN=${join(dir, 'missing')} is not an executable program`);
  });
});
