import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../bin/deploy-runbook.js');

describe('bin/deploy-runbook.js', () => {
  it('runs the TypeScript CLI through tsx and documents the commands and exit codes', () => {
    const run = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Usage: deploy-runbook [options] [command]');
    for (const command of ['start [options]', 'status [options] <execution-arn>', 'approve [options]']) expect(run.stdout).toContain(command);
    expect(run.stdout).toContain('2   rolled back');
    expect(run.stdout).toContain('64  bad usage or configuration');
  });

  it('exits with 64 on bad usage', () => {
    const run = spawnSync(process.execPath, [BIN, 'start', '--version', 'v1 bad', '--state-machine-arn', 'arn:aws:states:eu-west-1:123456789012:stateMachine:x'], { encoding: 'utf8' });

    expect(run.status).toBe(64);
    expect(run.stderr).toContain('--version: must start with a letter or digit');
  });
});
