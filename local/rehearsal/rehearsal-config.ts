import { isAbsolute, resolve } from 'node:path';
import { ConfigError, parseConfig, readJsonFile } from '../../config/load';
import { placeProblems } from '../../config/kinds';
import { PROMETHEUS_ADDRESS, WORKDIR } from '../../config/rehearsal-places';
import type { RunbookConfig } from '../../config/schema';
import type { RehearsalAnswer } from '../../core/rollback-approval';

/**
 * Why a configuration cannot be rehearsed, one line per field: every part must run on this machine
 * (config/kinds.ts says which kinds do), and nobody can answer an approval without AWS, unless the rehearsal
 * plays the person asked before a rollback (`answer`, from `--rollback-approval`).
 */
export function rehearsalProblems(config: RunbookConfig, answer?: RehearsalAnswer): string[] {
  const problems = placeProblems(config, 'local');
  if (config.rollbackApproval.required && answer === undefined) {
    problems.push(
      'rollbackApproval.required: a person answers through an AWS Step Functions activity, which a rehearsal does not have; pass --rollback-approval approve, reject or timeout to play that person (got true)',
    );
  }
  if (config.database?.restoreApproval.required) {
    problems.push(
      'database.restoreApproval.required: an approval is answered through an AWS Step Functions activity (deploy-runbook approve --execution), which a rehearsal does not have; set it to false (got true)',
    );
  }
  return problems;
}

/**
 * Moves a process target to `port`, and the smoke tests and metrics with it where they point at the
 * target's port, so that rehearsals can run side by side.
 */
export function withPort(config: RunbookConfig, port: number, source = 'configuration'): RunbookConfig {
  if (config.target.kind !== 'process') {
    throw new ConfigError(source, [`target.kind: --port moves a 'process' target, but this target runs commands (got "${config.target.kind}")`]);
  }
  const from = String(config.target.port);
  const moved = (url: string): string => {
    const parsed = new URL(url);
    if (parsed.port !== from) return url;
    parsed.port = String(port);
    // URL adds a slash after a bare host: the configuration's own form is kept.
    return url.endsWith('/') ? parsed.toString() : parsed.toString().replace(/\/$/, '');
  };
  return {
    ...config,
    target: { ...config.target, port },
    smokeTests: { ...config.smokeTests, baseUrl: moved(config.smokeTests.baseUrl) },
    alarms: config.alarms.kind === 'prometheus' ? { ...config.alarms, metricsUrl: moved(config.alarms.metricsUrl) } : config.alarms,
  };
}

/**
 * Spreads a process target over `count` local hosts (`host-1` on the configured port, the next ones on the ports
 * after it), rolled one host at a time with no failure tolerated: the rehearsal's twin of an ssm-hosts fleet. The
 * smoke tests and the alarms keep pointing at the first host.
 */
export function withLocalHosts(config: RunbookConfig, count: number, source = 'configuration'): RunbookConfig {
  const { target } = config;
  if (target.kind !== 'process') {
    throw new ConfigError(source, [`target.kind: the hosts scenario spreads a 'process' target over ${count} local hosts (got "${target.kind}")`]);
  }
  const hosts = Array.from({ length: count }, (_, index) => ({ name: `host-${index + 1}`, port: target.port + index }));
  return { ...config, target: { kind: 'hosts', command: target.command, hosts, readyPath: target.readyPath, env: target.env, cwd: target.cwd, maxConcurrency: 1, maxErrors: 0 } };
}

/**
 * Runs the target's and the migrations' commands in `baseDir` (or their relative `cwd` under it), and reads `log-file`
 * metrics' relative paths from there, wherever the CLI was started; a path under `{{workdir}}` is left to withRehearsalPlaces.
 */
export function withCommandsIn(config: RunbookConfig, baseDir: string): RunbookConfig {
  const at = (cwd: string | undefined) => (cwd === undefined ? baseDir : isAbsolute(cwd) ? cwd : resolve(baseDir, cwd));
  const target = config.target.kind === 'process' || config.target.kind === 'command' || config.target.kind === 'hosts' ? { ...config.target, cwd: at(config.target.cwd) } : config.target;
  const migrations = config.migrations?.kind === 'command' ? { ...config.migrations, cwd: at(config.migrations.cwd) } : config.migrations;
  const logPath = (path: string) => (path.startsWith(WORKDIR) ? path : at(path));
  const metrics = config.analysis.metrics.map((metric) => (metric.provider.kind === 'log-file' ? { ...metric, provider: { ...metric.provider, path: logPath(metric.provider.path) } } : metric));
  return { ...config, target, migrations, analysis: { ...config.analysis, metrics } };
}

/** Whether an analysis metric reads the Prometheus the rehearsal starts: the rehearsal starts one only then. */
export function usesRehearsalPrometheus(config: RunbookConfig): boolean {
  return config.analysis.metrics.some((metric) => metric.provider.kind === 'prometheus' && metric.provider.url.includes(PROMETHEUS_ADDRESS));
}

/**
 * What the rehearsal's Prometheus scrapes: the app's `host:port` and metrics path, from `alarms.metricsUrl` when the
 * alarms read Prometheus metrics, otherwise `/metrics` beside the smoke tests' base URL. Follows `--port`.
 */
export function scrapeTargetOf(config: RunbookConfig): { readonly target: string; readonly metricsPath: string } {
  const url = new URL(config.alarms.kind === 'prometheus' ? config.alarms.metricsUrl : new URL('/metrics', config.smokeTests.baseUrl).toString());
  return { target: url.host, metricsPath: url.pathname };
}

/** Fills in what only the running rehearsal knows: `{{prometheus.address}}` in metric URLs, `{{workdir}}` in log-file paths and the target's env. */
export function withRehearsalPlaces(config: RunbookConfig, places: { readonly prometheusAddress: string | null; readonly workdir: string }): RunbookConfig {
  const workdir = (text: string) => text.replaceAll(WORKDIR, places.workdir);
  const metrics = config.analysis.metrics.map((metric) => {
    const { provider } = metric;
    if (provider.kind === 'log-file') return { ...metric, provider: { ...provider, path: workdir(provider.path) } };
    if (provider.kind === 'prometheus' && places.prometheusAddress !== null) return { ...metric, provider: { ...provider, url: provider.url.replaceAll(PROMETHEUS_ADDRESS, places.prometheusAddress) } };
    return metric;
  });
  const target = config.target.kind === 'process' || config.target.kind === 'hosts' ? { ...config.target, env: Object.fromEntries(Object.entries(config.target.env).map(([name, value]) => [name, workdir(value)])) } : config.target;
  return { ...config, target, analysis: { ...config.analysis, metrics } };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where the configuration comes from and how the CLI adjusts it. */
export interface RehearsalConfigOptions {
  /** Relative command paths are resolved from here (the package root for the built-in example). */
  readonly baseDir: string;
  /** `--port`: the port the demo app listens on instead of the configured one. */
  readonly port?: number;
  /** `--rollback-approval`: the rehearsal plays the person asked before a rollback, so rollbackApproval.required is switched on. */
  readonly rollbackApproval?: RehearsalAnswer;
}

/** Reads, validates and adapts a configuration for a rehearsal; a ConfigError names every field that cannot run locally. */
export function loadRehearsalConfig(path: string, options: RehearsalConfigOptions): RunbookConfig {
  const raw = readJsonFile(path, (problem) => new ConfigError(path, [problem]));
  // Switched on before validation, so that its wait is counted in the budgets as ValidateInput will count it.
  const asked = options.rollbackApproval !== undefined && isRecord(raw) ? { ...raw, rollbackApproval: { ...(isRecord(raw.rollbackApproval) ? raw.rollbackApproval : {}), required: true } } : raw;
  const config = parseConfig(asked, path);
  const problems = rehearsalProblems(config, options.rollbackApproval);
  if (problems.length > 0) throw new ConfigError(path, problems);
  const placed = withCommandsIn(config, options.baseDir);
  return options.port === undefined ? placed : withPort(placed, options.port, path);
}
