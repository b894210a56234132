import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const DEMO_SERVER = resolve(REPO_ROOT, 'examples/demo-app/server.mjs');
export const DEMO_MIGRATE = resolve(REPO_ROOT, 'examples/demo-app/migrate.mjs');

export interface DemoApp {
  readonly url: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the demo app on a free port of 127.0.0.1 and waits for its "listening" line. */
export async function startDemoApp(env: Record<string, string> = {}): Promise<DemoApp> {
  const child = spawn(process.execPath, [DEMO_SERVER], {
    env: { PATH: process.env.PATH ?? '', APP_VERSION: 'v1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    child.stdout?.on('data', (chunk) => {
      const match = /listening on (http:\/\/\S+)/.exec(String(chunk));
      if (match) resolveUrl(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`demo app exited with ${code}: ${stderr}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

/** Runs the demo app with env and returns how it exited: for the start-up failures. */
export function runDemoAppToExit(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [DEMO_SERVER], { env: { PATH: process.env.PATH ?? '', PORT: '0', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
    child.once('close', (code) => done({ code, stderr }));
  });
}
