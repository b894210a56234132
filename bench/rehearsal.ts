import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { freePort } from '../local/free-port';
import { type ExecutionDataFigures, executionDataFigures } from './execution-data';
import { loadRehearsalConfig } from '../local/rehearsal/rehearsal-config';
import { DEFAULT_WAIT_MS, rehearse } from '../local/rehearsal/rehearse';
import { scenarioNamed } from '../local/rehearsal/scenarios';
import { DEFAULT_CONFIG_PATH, PACKAGE_ROOT } from '../local/rehearsal/workspace';

/** Step Functions Standard list price per state transition (USD 0.025 per 1,000; us-east-1, beyond the free tier). */
const USD_PER_TRANSITION = 0.025 / 1000;

/** One rehearsed deployment. */
export interface RehearsalBenchResult {
  readonly scenario: string;
  readonly outcome: string;
  /** The whole rehearsal: PostgreSQL, the previous release, the execution, the checks, the cleanup. */
  readonly wallMs: number;
  /** The execution alone, first state to last. */
  readonly executionMs: number;
  /** Time the execution spent in Wait states (each lasts `waitMs`). */
  readonly waitedMs: number;
  /** StateEntered events: the state transitions Step Functions Standard bills. */
  readonly transitions: number;
  readonly costUsd: number;
  /** The execution data it carried and would log (see execution-data.ts). */
  readonly data: ExecutionDataFigures;
}

export interface RehearsalBenchOptions {
  /** @default healthy and alarm */
  readonly scenarios?: readonly string[];
  /** @default BENCH_WAIT_MS or the CLI's default */
  readonly waitMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * Rehearses each scenario in-process, as `deploy-runbook rehearse` does, and reports its wall time and
 * the state transitions of its execution. Prints a JSON line per scenario and a table.
 */
export async function run(options: RehearsalBenchOptions = {}): Promise<RehearsalBenchResult[]> {
  const waitMs = options.waitMs ?? Number(process.env.BENCH_WAIT_MS ?? DEFAULT_WAIT_MS);
  const log = options.log ?? ((line: string) => console.log(line));
  const env = { ...process.env };
  // A benchmark starts its own PostgreSQL, as a fresh clone's rehearsal does.
  delete env.DATABASE_URL;
  const results: RehearsalBenchResult[] = [];
  for (const name of options.scenarios ?? ['healthy', 'alarm']) {
    const workdir = await mkdtemp(join(tmpdir(), 'bench-rehearsal-'));
    try {
      // Each rehearsal gets its own demo app port.
      const config = loadRehearsalConfig(DEFAULT_CONFIG_PATH, { baseDir: PACKAGE_ROOT, port: await freePort() });
      const started = performance.now();
      const rehearsal = await rehearse({ config, scenario: scenarioNamed(name), workdir, waitMs, env });
      const wallMs = Math.round(performance.now() - started);
      const { execution } = rehearsal;
      const waitedMs = rehearsal.states.filter((state) => /^Wait/.test(state.name)).reduce((sum, state) => sum + state.ms, 0);
      const result: RehearsalBenchResult = {
        scenario: name,
        outcome: rehearsal.outcome,
        wallMs,
        executionMs: execution.finishedAt - execution.startedAt,
        waitedMs,
        transitions: rehearsal.transitions,
        costUsd: Number((rehearsal.transitions * USD_PER_TRANSITION).toFixed(6)),
        data: executionDataFigures(execution),
      };
      results.push(result);
      log(JSON.stringify({ bench: 'rehearsal', waitMs, ...result }));
    } finally {
      await rm(workdir, { recursive: true, force: true });
    }
  }
  log(`rehearsal (Wait states ${waitMs} ms):`);
  log(`  ${'scenario'.padEnd(10)} ${'outcome'.padEnd(12)} ${'wall'.padStart(7)} ${'execution'.padStart(10)} ${'waiting'.padStart(8)} ${'transitions'.padStart(12)} ${'Standard cost'.padStart(14)}`);
  for (const r of results) {
    log(
      `  ${r.scenario.padEnd(10)} ${r.outcome.padEnd(12)} ${seconds(r.wallMs).padStart(7)} ${seconds(r.executionMs).padStart(10)} ${seconds(r.waitedMs).padStart(8)} ${String(r.transitions).padStart(12)} ${`$${r.costUsd.toFixed(6)}`.padStart(14)}`,
    );
  }
  log('execution data (level ALL logs every payload):');
  log(`  ${'scenario'.padEnd(10)} ${'largest payload'.padStart(16)}  ${'at'.padEnd(24)} ${'Task Parameters'.padStart(16)} ${'logged'.padStart(10)}`);
  for (const { scenario, data } of results) {
    log(
      `  ${scenario.padEnd(10)} ${kib(data.largestBytes).padStart(16)}  ${data.largestAt.padEnd(24)} ${kib(data.parametersBytes).padStart(16)} ${kib(data.loggedBytes).padStart(10)}`,
    );
  }
  return results;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
