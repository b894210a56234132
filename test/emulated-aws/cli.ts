import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/runbook-function';
import type { EmulatedAws } from './emulated-aws';

const CLI = join(PROJECT_ROOT, 'bin', 'deploy-runbook.js');

/** Runs the real CLI as the operator against moto, as a team would from CI; resolves with its exit code and output. */
export async function runCli(aws: EmulatedAws, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...aws.cliEnv },
      timeout: 150_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}
