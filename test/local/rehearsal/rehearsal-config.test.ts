import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import exampleConfig from '../../../config/example.json';
import { ConfigError, parseConfig } from '../../../config/load';
import rehearsalConfig from '../../../examples/rehearsal/runbook.json';
import { wrongPlace } from '../../../config/kinds';
import {
  loadRehearsalConfig,
  rehearsalProblems,
  scrapeTargetOf,
  usesRehearsalPrometheus,
  withCommandsIn,
  withLocalHosts,
  withPort,
  withRehearsalPlaces,
} from '../../../local/rehearsal/rehearsal-config';
import { DEFAULT_CONFIG_PATH, PACKAGE_ROOT } from '../../../local/rehearsal/workspace';
import { useTempDirs } from './fake-ports';

const tempDir = useTempDirs();
const demo = () => parseConfig(structuredClone(rehearsalConfig));

describe('rehearsalProblems', () => {
  it('accepts the built-in demo configuration', () => {
    expect(rehearsalProblems(demo())).toEqual([]);
  });

  it('fails when sections need AWS, naming each field, what it needs and the kind received', () => {
    const aws = parseConfig(structuredClone(exampleConfig));

    const problems = rehearsalProblems(aws);

    expect(problems).toEqual(
      expect.arrayContaining([
        wrongPlace('target', 'ecs', 'local'),
        wrongPlace('database', 'rds-instance', 'local'),
        wrongPlace('migrations', 'ecs-task', 'local'),
        wrongPlace('alarms', 'cloudwatch', 'local'),
      ]),
    );
    for (const name of Object.keys(aws.smokeTests.secrets)) {
      expect(problems).toContainEqual(expect.stringMatching(new RegExp(`^smokeTests\\.secrets\\.${name}: secretsManager secrets are read only on AWS`)));
    }
  });

  it('accepts CloudWatch alarms only when none are named: there is nothing to read then', () => {
    expect(rehearsalProblems(parseConfig({ ...structuredClone(rehearsalConfig), alarms: { kind: 'cloudwatch' } }))).toEqual([]);
  });

  it('fails when a restore needs an approval, which only Step Functions can deliver', () => {
    const config = parseConfig({ ...structuredClone(rehearsalConfig), database: { kind: 'postgres', restoreApproval: { required: true, timeoutMinutes: 10 } } });

    expect(rehearsalProblems(config)).toEqual([expect.stringMatching(/^database\.restoreApproval\.required: .*set it to false \(got true\)$/)]);
  });

  it('fails when a rollback needs a person and the rehearsal was not told how to answer, naming the flag', () => {
    const config = parseConfig({ ...structuredClone(rehearsalConfig), rollbackApproval: { required: true, timeoutMinutes: 1 } });

    expect(rehearsalProblems(config)).toEqual([
      'rollbackApproval.required: a person answers through an AWS Step Functions activity, which a rehearsal does not have; pass --rollback-approval approve, reject or timeout to play that person (got true)',
    ]);
    expect(rehearsalProblems(config, 'reject')).toEqual([]);
  });
});

describe('loadRehearsalConfig with --rollback-approval', () => {
  it('switches rollbackApproval.required on, keeping the configured timeout and default', async () => {
    const path = join(await tempDir(), 'runbook.json');
    await writeFile(path, JSON.stringify({ ...structuredClone(rehearsalConfig), rollbackApproval: { timeoutMinutes: 5, onTimeout: 'keep' } }));

    expect(loadRehearsalConfig(path, { baseDir: PACKAGE_ROOT, rollbackApproval: 'timeout' }).rollbackApproval).toEqual({ required: true, timeoutMinutes: 5, onTimeout: 'keep' });
    expect(loadRehearsalConfig(path, { baseDir: PACKAGE_ROOT }).rollbackApproval.required).toBe(false);
  });
});

describe('withPort', () => {
  it('moves the target, the smoke tests and the metrics to the port', () => {
    const moved = withPort(demo(), 51234);

    expect(moved.target).toMatchObject({ kind: 'process', port: 51234 });
    expect(moved.smokeTests.baseUrl).toBe('http://127.0.0.1:51234');
    expect(moved.alarms).toMatchObject({ metricsUrl: 'http://127.0.0.1:51234/metrics' });
  });

  it('leaves URLs that point at another port alone, and keeps a base path', () => {
    const config = parseConfig({
      ...structuredClone(rehearsalConfig),
      smokeTests: { ...structuredClone(rehearsalConfig.smokeTests), baseUrl: 'http://127.0.0.1:47800/api/' },
      alarms: { ...structuredClone(rehearsalConfig.alarms), metricsUrl: 'http://127.0.0.1:9090/metrics' },
    });

    const moved = withPort(config, 50000);

    expect(moved.smokeTests.baseUrl).toBe('http://127.0.0.1:50000/api/');
    expect(moved.alarms).toMatchObject({ metricsUrl: 'http://127.0.0.1:9090/metrics' });
  });

  it('puts every port into the target and the URLs that followed it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), (port) => {
        const moved = withPort(demo(), port);
        const urlPort = (url: string) => new URL(url).port || '80';
        return moved.target.kind === 'process' && moved.target.port === port && urlPort(moved.smokeTests.baseUrl) === String(port) && moved.alarms.kind === 'prometheus' && urlPort(moved.alarms.metricsUrl) === String(port);
      }),
    );
  });

  it('fails when the target is not a process, naming target.kind', () => {
    const commands = parseConfig({ ...structuredClone(rehearsalConfig), target: { kind: 'command', deploy: 'deploy {{version}}', rollback: 'rollback {{version}}', current: 'cat VERSION' } });

    expect(() => withPort(commands, 50000, 'mine.json')).toThrow(/target\.kind: --port moves a 'process' target, .*\(got "command"\)/);
  });
});

describe('withLocalHosts', () => {
  it('spreads the process target over hosts on the configured port and the ones after it, one host per batch', () => {
    const spread = withLocalHosts(withPort(demo(), 51000), 3);

    expect(spread.target).toEqual({
      kind: 'hosts',
      command: ['node', 'examples/demo-app/server.mjs'],
      hosts: [
        { name: 'host-1', port: 51000 },
        { name: 'host-2', port: 51001 },
        { name: 'host-3', port: 51002 },
      ],
      readyPath: '/ready',
      env: { DEMO_LATENCY_MS: '75', DEMO_LOG_FILE: '{{workdir}}/demo-app.log' },
      cwd: undefined,
      maxConcurrency: 1,
      maxErrors: 0,
    });
    expect(spread.smokeTests.baseUrl).toBe('http://127.0.0.1:51000');
    expect(parseConfig(JSON.parse(JSON.stringify(spread))).target).toEqual(JSON.parse(JSON.stringify(spread.target)));
  });

  it('fails when the target is not a process, naming target.kind', () => {
    const commands = parseConfig({ ...structuredClone(rehearsalConfig), target: { kind: 'command', deploy: 'deploy {{version}}', rollback: 'rollback {{version}}', current: 'cat VERSION' } });

    expect(() => withLocalHosts(commands, 3, 'mine.json')).toThrow(/target\.kind: the hosts scenario spreads a 'process' target over 3 local hosts \(got "command"\)/);
  });
});

describe('withCommandsIn', () => {
  it('runs the commands from the base directory, or from their relative cwd under it', () => {
    const config = parseConfig({ ...structuredClone(rehearsalConfig), migrations: { kind: 'command', command: 'node migrate.mjs {{version}}', cwd: 'db' } });

    const placed = withCommandsIn(config, '/srv/app');

    expect(placed.target).toMatchObject({ cwd: '/srv/app' });
    expect(placed.migrations).toMatchObject({ cwd: '/srv/app/db' });
  });
});

describe('withCommandsIn: log-file paths', () => {
  it('reads a relative log-file path from the base directory, and leaves one under {{workdir}} to the rehearsal', () => {
    const config = demo();
    const metrics = [...config.analysis.metrics, { ...config.analysis.metrics[2], name: 'app-log', provider: { kind: 'log-file' as const, path: 'logs/app.log', pattern: 'ERROR' } }];

    const placed = withCommandsIn({ ...config, analysis: { ...config.analysis, metrics } }, '/srv/app');

    expect(placed.analysis.metrics.map((metric) => ('path' in metric.provider ? metric.provider.path : null))).toEqual([null, null, '{{workdir}}/demo-app.log', '/srv/app/logs/app.log']);
  });
});

describe('the rehearsal Prometheus and {{workdir}}', () => {
  it('starts Prometheus only when a prometheus metric reads http://{{prometheus.address}}', () => {
    const config = demo();
    const elsewhere = config.analysis.metrics.map((metric) => (metric.provider.kind === 'prometheus' ? { ...metric, provider: { ...metric.provider, url: 'http://127.0.0.1:9090' } } : metric));

    expect(usesRehearsalPrometheus(config)).toBe(true);
    expect(usesRehearsalPrometheus({ ...config, analysis: { ...config.analysis, metrics: elsewhere } })).toBe(false);
    expect(usesRehearsalPrometheus({ ...config, analysis: { ...config.analysis, metrics: [] } })).toBe(false);
  });

  it("scrapes the app's metrics URL, moved with --port; /metrics beside the smoke tests without Prometheus alarms", () => {
    expect(scrapeTargetOf(withPort(demo(), 51234))).toEqual({ target: '127.0.0.1:51234', metricsPath: '/metrics' });
    const config = demo();
    expect(scrapeTargetOf({ ...config, alarms: { kind: 'cloudwatch', names: [], preexisting: 'report' }, smokeTests: { ...config.smokeTests, baseUrl: 'http://127.0.0.1:8080/app/' } })).toEqual({
      target: '127.0.0.1:8080',
      metricsPath: '/metrics',
    });
  });

  it('fills in the Prometheus address and the workdir in metric URLs, log-file paths and the target env', () => {
    const placed = withRehearsalPlaces(demo(), { prometheusAddress: '127.0.0.1:41234', workdir: '/tmp/rehearsal-1' });

    expect(placed.analysis.metrics.map((metric) => ('url' in metric.provider ? metric.provider.url : metric.provider.kind === 'log-file' ? metric.provider.path : null))).toEqual([
      'http://127.0.0.1:41234',
      'http://127.0.0.1:41234',
      '/tmp/rehearsal-1/demo-app.log',
    ]);
    expect(placed.target).toMatchObject({ env: { DEMO_LATENCY_MS: '75', DEMO_LOG_FILE: '/tmp/rehearsal-1/demo-app.log' } });
    expect(usesRehearsalPrometheus(placed)).toBe(false);
  });

  it('leaves the metric URLs as written when no Prometheus was started', () => {
    const placed = withRehearsalPlaces(demo(), { prometheusAddress: null, workdir: '/tmp/rehearsal-1' });

    expect(placed.analysis.metrics[0].provider).toMatchObject({ url: 'http://{{prometheus.address}}' });
  });
});

describe('loadRehearsalConfig', () => {
  it('reads the built-in configuration with its files found from the package root', () => {
    const config = loadRehearsalConfig(DEFAULT_CONFIG_PATH, { baseDir: PACKAGE_ROOT, port: 50001 });

    expect(config.target).toMatchObject({ kind: 'process', port: 50001, cwd: PACKAGE_ROOT });
  });

  it('fails when the file is invalid, naming the field and the value', async () => {
    const path = join(await tempDir(), 'bad.json');
    await writeFile(path, JSON.stringify({ ...rehearsalConfig, bake: { durationSeconds: 30, pollSeconds: 1 } }));

    expect(() => loadRehearsalConfig(path, { baseDir: PACKAGE_ROOT })).toThrow(ConfigError);
    expect(() => loadRehearsalConfig(path, { baseDir: PACKAGE_ROOT })).toThrow(/bake\.pollSeconds: .*\(got 1\)/);
  });

  it('fails when the configuration is valid but needs AWS', async () => {
    const path = join(await tempDir(), 'aws.json');
    await writeFile(path, JSON.stringify(exampleConfig));

    expect(() => loadRehearsalConfig(path, { baseDir: PACKAGE_ROOT })).toThrow(/target\.kind: 'ecs' \(an ECS service\) runs only on AWS/);
  });
});
