import { isAbsolute, resolve } from 'node:path';
import { ConfigError, loadConfigFile } from '../../config/load';
import type { RunbookConfig } from '../../config/schema';

/** What a rehearsal can run locally, per section; anything else needs AWS. */
const LOCAL_KINDS = {
  target: { local: ['process', 'command'], aws: 'an ECS service or a hook Lambda' },
  database: { local: ['postgres'], aws: 'RDS or Aurora' },
  migrations: { local: ['command'], aws: 'an ECS task or a hook Lambda' },
} as const;

/**
 * Why a configuration cannot be rehearsed, one line per field: every part must run on this machine
 * (a process or command target, PostgreSQL, command migrations, Prometheus alarms, secrets from the environment).
 */
export function rehearsalProblems(config: RunbookConfig): string[] {
  const problems: string[] = [];
  for (const [field, { local, aws }] of Object.entries(LOCAL_KINDS)) {
    const kind = (config[field as keyof typeof LOCAL_KINDS] as { kind: string } | null)?.kind;
    if (kind !== undefined && !(local as readonly string[]).includes(kind)) {
      problems.push(`${field}.kind: '${kind}' needs AWS (${aws}); a rehearsal runs ${local.map((k) => `'${k}'`).join(' or ')}${field === 'target' ? '' : ' or none'} (got "${kind}")`);
    }
  }
  if (config.alarms.kind === 'cloudwatch' && config.alarms.names.length > 0) {
    problems.push(
      `alarms.kind: 'cloudwatch' alarms need AWS; a rehearsal judges 'prometheus' rules over the app's /metrics, or no alarms (got "cloudwatch" with ${config.alarms.names.length} alarm name(s))`,
    );
  }
  for (const [name, ref] of Object.entries(config.smokeTests.secrets)) {
    if ('secretsManager' in ref) {
      problems.push(`smokeTests.secrets.${name}: Secrets Manager needs AWS; a rehearsal reads secrets from the environment, {"env": "NAME"} (got secretsManager "${ref.secretsManager}")`);
    }
  }
  if (config.database?.restoreApproval.required) {
    problems.push(
      'database.restoreApproval.required: an approval is answered through AWS Step Functions (SendTaskSuccess with the task token), which a rehearsal does not have; set it to false (got true)',
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

/** Runs the target's and the migrations' commands in `baseDir` (or their relative `cwd` under it), wherever the CLI was started. */
export function withCommandsIn(config: RunbookConfig, baseDir: string): RunbookConfig {
  const at = (cwd: string | undefined) => (cwd === undefined ? baseDir : isAbsolute(cwd) ? cwd : resolve(baseDir, cwd));
  const target = config.target.kind === 'process' || config.target.kind === 'command' ? { ...config.target, cwd: at(config.target.cwd) } : config.target;
  const migrations = config.migrations?.kind === 'command' ? { ...config.migrations, cwd: at(config.migrations.cwd) } : config.migrations;
  return { ...config, target, migrations };
}

/** Where the configuration comes from and how the CLI adjusts it. */
export interface RehearsalConfigOptions {
  /** Relative command paths are resolved from here (the package root for the built-in example). */
  readonly baseDir: string;
  /** `--port`: the port the demo app listens on instead of the configured one. */
  readonly port?: number;
}

/** Reads, validates and adapts a configuration for a rehearsal; a ConfigError names every field that cannot run locally. */
export function loadRehearsalConfig(path: string, options: RehearsalConfigOptions): RunbookConfig {
  const config = loadConfigFile(path);
  const problems = rehearsalProblems(config);
  if (problems.length > 0) throw new ConfigError(path, problems);
  const placed = withCommandsIn(config, options.baseDir);
  return options.port === undefined ? placed : withPort(placed, options.port, path);
}
