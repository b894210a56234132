import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ChildExit, describeExit, stopGracefully } from '../../adapters/local/child-run';
import { answersOk } from '../../adapters/local/http-probe';
import { RunbookError } from '../../core/errors';
import { freePort } from '../free-port';
import { exitOf, tail } from '../postgres/process';
import { findPrometheus } from './binary';

/** Prometheus exited, or did not become ready or scrape its targets in time; the message names its log and quotes its end. */
export class PrometheusStartError extends RunbookError {}

/** A throwaway Prometheus on 127.0.0.1 scraping a few targets, owned by whoever started it. */
export interface PrometheusServer {
  /** `http://127.0.0.1:<port>`: the HTTP API is under `/api/v1`. */
  readonly url: string;
  readonly port: number;
  /** Its configuration, data and log: deleted by `stop`. */
  readonly dir: string;
  readonly pid: number | undefined;
  /**
   * Resolves once every target has been scraped and answered (`up == 1`); throws after `timeoutMs` (default 30 s:
   * Prometheus hands its targets to the scrapers some seconds after it starts).
   */
  scraped(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period; deletes its directory. Safe to call twice; does nothing once released. */
  stop(): Promise<void>;
  /** Lets it outlive this process (`rehearse --keep`): `stop` leaves it running from then on. Returns its pid. */
  release(): number | undefined;
}

/** What startPrometheus scrapes, and where it listens. */
export interface StartPrometheusOptions {
  /** `host:port` of each app scraped. */
  readonly targets: readonly string[];
  /** @default '/metrics' */
  readonly metricsPath?: string;
  /** Milliseconds between scrapes. @default SCRAPE_INTERVAL_MS */
  readonly scrapeIntervalMs?: number;
  /** Listen on exactly this port (a configuration names it). @default a free port, another one when it is taken meanwhile */
  readonly port?: number;
  /** @default findPrometheus() */
  readonly program?: string;
  /** Parent of the server's temporary directory. @default os.tmpdir() */
  readonly parentDir?: string;
  /** How long it may take to answer `/-/ready`. @default 30000 */
  readonly readyTimeoutMs?: number;
  /** Free ports tried before giving up, when no `port` is given. @default 5 */
  readonly portAttempts?: number;
}

/** Time between scrapes: a rehearsal's bake lasts seconds, and each of its measurements needs fresh samples. */
export const SCRAPE_INTERVAL_MS = 1000;
const STOP_GRACE_MS = 5000;
const POLL_MS = 100;

/**
 * Starts Prometheus for a test or a rehearsal: a generated configuration scraping `targets` every second (or as told), its
 * storage, console paths and log in a new temporary directory (nothing under /etc or /var), listening on
 * 127.0.0.1 only. Resolves once `/-/ready` answers.
 */
export async function startPrometheus(options: StartPrometheusOptions): Promise<PrometheusServer> {
  const program = options.program ?? findPrometheus();
  const dir = await mkdtemp(join(options.parentDir ?? tmpdir(), 'deploy-runbook-prometheus-'));
  try {
    const configFile = join(dir, 'prometheus.yml');
    // JSON is YAML: no quoting rules to get wrong for a target or a path.
    const config = scrapeConfig(options.targets, options.metricsPath ?? '/metrics', options.scrapeIntervalMs ?? SCRAPE_INTERVAL_MS);
    await writeFile(configFile, `${JSON.stringify(config, null, 2)}\n`);
    await mkdir(join(dir, 'consoles'));
    await mkdir(join(dir, 'console_libraries'));
    const attempts = options.port === undefined ? (options.portAttempts ?? 5) : 1;
    for (let attempt = 1; ; attempt++) {
      const port = options.port ?? (await freePort());
      // One log per attempt, so that an earlier attempt's bind error is not mistaken for this one's.
      const logFile = join(dir, `prometheus-${attempt}.log`);
      const args = [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.console.templates=${join(dir, 'consoles')}`,
        `--web.console.libraries=${join(dir, 'console_libraries')}`,
        '--storage.tsdb.retention.time=1d',
      ];
      const child = spawnLogged(program, args, dir, logFile);
      const url = `http://127.0.0.1:${port}`;
      const exited = exitOf(child).catch((error: Error): ChildExit => ({ code: null, signal: null, error: error.message }));
      const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
      const ended = await untilReady(url, exited, readyTimeoutMs);
      if (ended === null) return handle({ child, exited, url, port, dir, logFile, targets: options.targets });
      if (ended === 'timeout') await stopChild(child, exited);
      const log = await logTail(logFile);
      if (ended === 'timeout' || !/address already in use/i.test(log) || attempt >= attempts) {
        const why = ended === 'timeout' ? `did not answer ${url}/-/ready within ${readyTimeoutMs} ms` : describeExit(ended);
        throw new PrometheusStartError(`Prometheus (${program}, port ${port}) ${why}; its log, kept as ${await keepLog(logFile, dir)}: ${log}`);
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Prometheus' configuration: every target scraped each `intervalMs` under one job. */
export function scrapeConfig(targets: readonly string[], metricsPath: string, intervalMs: number): object {
  const interval = `${Math.max(1, Math.round(intervalMs))}ms`;
  return {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: [{ job_name: 'rehearsal', metrics_path: metricsPath, static_configs: [{ targets: [...targets] }] }],
  };
}

/** Output goes to a file, not a pipe: a server kept after we exit must not die writing to a closed pipe. */
function spawnLogged(program: string, args: string[], cwd: string, logFile: string): ChildProcess {
  const log = openSync(logFile, 'a');
  try {
    return spawn(program, args, { cwd, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
}

/** Null once `/-/ready` answers 200; the exit when the process ended first; 'timeout' when neither happened in time. */
async function untilReady(url: string, exited: Promise<ChildExit>, timeoutMs: number): Promise<ChildExit | 'timeout' | null> {
  const server: { exit: ChildExit | null } = { exit: null };
  void exited.then((exit) => (server.exit = exit));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exit) return server.exit;
    if (await answersOk(`${url}/-/ready`)) return null;
    await Promise.race([sleep(POLL_MS), exited]);
  }
  return server.exit ?? 'timeout';
}

function handle(server: { child: ChildProcess; exited: Promise<ChildExit>; url: string; port: number; dir: string; logFile: string; targets: readonly string[] }): PrometheusServer {
  let stopping: Promise<void> | undefined;
  let released = false;
  return {
    url: server.url,
    port: server.port,
    dir: server.dir,
    pid: server.child.pid,
    async scraped(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let last = 'no answer yet';
      while (Date.now() < deadline) {
        last = await upStates(server.url, server.targets);
        if (last === '') return;
        await sleep(POLL_MS);
      }
      throw new PrometheusStartError(`Prometheus at ${server.url} has not scraped every target within ${timeoutMs} ms (${last}); its log ${server.logFile}: ${await logTail(server.logFile)}`);
    },
    stop() {
      if (released) return Promise.resolve();
      stopping ??= (async () => {
        await stopChild(server.child, server.exited);
        await rm(server.dir, { recursive: true, force: true });
      })();
      return stopping;
    },
    release() {
      released = true;
      server.child.unref();
      return server.child.pid;
    },
  };
}

/** '' when every target answered its last scrape; otherwise which did not, for a message. */
async function upStates(url: string, targets: readonly string[]): Promise<string> {
  try {
    const response = await fetch(`${url}/api/v1/query?query=up`, { signal: AbortSignal.timeout(1000) });
    const body = (await response.json()) as { data?: { result?: { metric: { instance?: string }; value: [number, string] }[] } };
    const up = new Map((body.data?.result ?? []).map((series) => [series.metric.instance, series.value[1]]));
    const missing = targets.filter((target) => up.get(target) !== '1');
    return missing.map((target) => `${target}: ${up.has(target) ? 'down' : 'not scraped yet'}`).join(', ');
  } catch (error) {
    return `the query of up failed: ${(error as Error).message}`;
  }
}

async function stopChild(child: ChildProcess, exited: Promise<ChildExit>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await stopGracefully(child, exited, STOP_GRACE_MS);
}

/** The log of a failed start, moved beside the directory that is deleted: `<dir>.log`. */
async function keepLog(logFile: string, dir: string): Promise<string> {
  const kept = `${dir}.log`;
  await rename(logFile, kept).catch(() => undefined);
  return kept;
}

async function logTail(file: string): Promise<string> {
  return tail(await readFile(file, 'utf8').catch(() => '')) || '(its log is empty)';
}
