import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compactTimestamp } from '../postgres/identifiers';

/** The package's root: the built-in configuration's relative paths start here, wherever the CLI runs. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The configuration `rehearse` uses without --config: the demo app. */
export const DEFAULT_CONFIG_PATH = join(PACKAGE_ROOT, 'examples/rehearsal/runbook.json');

/** `.rehearsal/<yyyymmddhhmmss>-<scenario>` under `cwd` (the directory is gitignored). */
export function defaultWorkdir(cwd: string, scenario: string, now: Date): string {
  return join(cwd, '.rehearsal', `${compactTimestamp(now.toISOString())}-${scenario}`);
}

/** One rehearsal's directory: the artifact store and the log of every process it started. */
export interface Workspace {
  readonly dir: string;
  /** The FileArtifactStore's root: locks, ledger, backups, reports, notifications. */
  readonly storeDir: string;
  /** The app's, the migrations' and the notifier's output. */
  readonly logPath: string;
  log(line: string): void;
  close(): Promise<void>;
}

export async function openWorkspace(dir: string): Promise<Workspace> {
  const storeDir = join(dir, 'store');
  await mkdir(storeDir, { recursive: true });
  const logPath = join(dir, 'rehearsal.log');
  const stream = createWriteStream(logPath, { flags: 'a' });
  return {
    dir,
    storeDir,
    logPath,
    log: (line) => {
      if (!stream.writableEnded) stream.write(`${new Date().toISOString()} ${line}\n`);
    },
    close: () => new Promise((resolve) => stream.end(resolve)),
  };
}

/** Cleanup steps, run last-registered first, each once, each even when an earlier one failed. */
export class Teardown {
  private readonly steps: { readonly name: string; readonly run: () => Promise<unknown> }[] = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  /** Runs the steps; returns what failed, one line per step (`stop PostgreSQL: …`). */
  async run(): Promise<string[]> {
    const problems: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.run();
      } catch (error) {
        problems.push(`${step.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return problems;
  }
}
