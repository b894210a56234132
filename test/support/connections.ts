import { spawn } from 'node:child_process';
import { connect } from 'node:net';

/** Whether nothing listens on 127.0.0.1:`port` any more: what a rehearsal leaves after stopping its app. */
export function refusesConnections(port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(false);
    });
    socket.once('error', () => done(true));
  });
}

/** Runs the CLI (`node bin/deploy-runbook.js …`) as a user would, to its end: its exit code and both streams. */
export async function runCliProcess(bin: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const code = await new Promise<number | null>((done) => child.once('close', done));
  return { code, stdout, stderr };
}
