import { describe, expect, it } from 'vitest';
import { wrongPlace } from '../../config/kinds';
import { assertDeployableToAws, ConfigError, parseConfig } from '../../config/load';
import { rehearsalProblems } from '../../local/rehearsal/rehearsal-config';
import { type Draft, minimalDraft, problemsOf } from './fixtures';

const PROMETHEUS = { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))' };
const WORKSPACE = 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234abcd-5678-90ef';
const ALB = { namespace: 'AWS/ApplicationELB', dimensions: { LoadBalancer: 'app/shop/0123456789abcdef' } };

/** A metric with an absolute success condition; `changes` replace its fields. */
function metric(changes: Record<string, unknown> = {}): Draft {
  return { name: 'p95', provider: PROMETHEUS, successCondition: 'result <= 0.5', ...changes };
}

/** `minimalDraft()` (a 600 s bake polled every 60 s) with the analysis section given. */
function withAnalysis(analysis: Draft, changes: Draft = {}): Draft {
  return { ...minimalDraft(), analysis, ...changes };
}

describe('parseConfig: analysis', () => {
  it('accepts a full analysis, filling the defaults of each metric', () => {
    const config = parseConfig(
      withAnalysis({
        checkpoints: '2m, 5m, every 5m',
        secrets: { PROM_TOKEN: { secretsManager: 'shop/prod/prometheus', jsonKey: 'token' } },
        metrics: [
          metric({ provider: { ...PROMETHEUS, headers: { Authorization: 'Bearer {{secrets.PROM_TOKEN}}' } }, successCondition: 'result <= baseline * 1.2' }),
          {
            name: 'amp-errors',
            provider: { kind: 'prometheus', url: WORKSPACE, query: 'sum(rate(errors[5m]))', sigv4: true },
            failureCondition: 'result > baseline + 5',
            noData: 'success',
          },
          {
            name: 'error-rate',
            provider: {
              kind: 'cloudwatch',
              expression: 'errors / requests * 100',
              metrics: { errors: { ...ALB, metricName: 'HTTPCode_Target_5XX_Count', stat: 'Sum' }, requests: { ...ALB, metricName: 'RequestCount', stat: 'Sum' } },
            },
            successCondition: 'result < 1',
            failureCondition: 'result >= 5',
            failureLimit: 2,
            consecutiveErrorLimit: 1,
            initialDelaySeconds: 120,
          },
          { name: 'latency', provider: { kind: 'cloudwatch', metrics: { latency: { ...ALB, metricName: 'TargetResponseTime', stat: 'p95' } } }, successCondition: 'result <= 0.3' },
          { name: 'log-errors', provider: { kind: 'logs', logGroupNames: ['/ecs/shop-api'], query: 'filter @message like /ERROR/ | stats count()' }, failureCondition: 'result > 0', noData: 'success', dryRun: true, windowSeconds: 120 },
        ],
      }),
    );

    expect(config.analysis.checkpoints).toBe('2m, 5m, every 5m');
    expect(config.analysis.metrics[0]).toEqual({
      name: 'p95',
      provider: { ...PROMETHEUS, headers: { Authorization: 'Bearer {{secrets.PROM_TOKEN}}' }, sigv4: false },
      successCondition: 'result <= baseline * 1.2',
      windowSeconds: 300,
      noData: 'failure',
      failureLimit: 0,
      consecutiveErrorLimit: 4,
      initialDelaySeconds: 0,
      dryRun: false,
    });
    expect(config.analysis.metrics.map((m) => m.provider.kind)).toEqual(['prometheus', 'prometheus', 'cloudwatch', 'cloudwatch', 'logs']);
    expect(config.analysis.metrics[2]).toMatchObject({ failureLimit: 2, consecutiveErrorLimit: 1, initialDelaySeconds: 120 });
    expect(config.analysis.metrics[3].provider).toMatchObject({ metrics: { latency: { dimensions: ALB.dimensions } } });
    expect(config.analysis.metrics[4]).toMatchObject({ dryRun: true, windowSeconds: 120, noData: 'success' });
    expect(() => assertDeployableToAws(config)).not.toThrow();
  });

  it('has no metrics by default', () => {
    expect(parseConfig(minimalDraft()).analysis).toEqual({ metrics: [], secrets: {} });
  });

  const REFUSED: [string, Draft, string][] = [
    [
      'a condition cannot be read',
      withAnalysis({ metrics: [metric({ successCondition: 'result is below 0.5' })] }),
      'analysis.metrics[0].successCondition: must be "result <op> <number>" or "result <op> baseline [* | + | - <number>]", with <op> one of < <= > >= == !=, such as "result <= 0.01" or "result <= baseline * 1.2" (got "result is below 0.5")',
    ],
    [
      'a failure condition cannot be read',
      withAnalysis({ metrics: [metric({ successCondition: undefined, failureCondition: 'result > baseline / 2' })] }),
      'analysis.metrics[0].failureCondition: must be "result <op> <number>" or "result <op> baseline [* | + | - <number>]", with <op> one of < <= > >= == !=, such as "result <= 0.01" or "result <= baseline * 1.2" (got "result > baseline / 2")',
    ],
    [
      'a metric has no condition',
      withAnalysis({ metrics: [metric({ successCondition: undefined })] }),
      'analysis.metrics[0].successCondition: needs a successCondition or a failureCondition: without one, no measurement could fail or pass (got nothing)',
    ],
    [
      'no value could meet the success condition without meeting the failure condition',
      withAnalysis({ metrics: [metric({ successCondition: 'result < 1', failureCondition: 'result < 2' })] }),
      'analysis.metrics[0].successCondition: can never be met: every value meeting it also meets failureCondition "result < 2", which is judged first, so no measurement could pass (got "result < 1")',
    ],
    ['two metrics share a name', withAnalysis({ metrics: [metric(), metric({ successCondition: 'result < 1' })] }), `analysis.metrics[1].name: duplicate metric name 'p95' (got "p95")`],
    [
      'a header uses a secret analysis.secrets does not define',
      withAnalysis({ secrets: { PROM_TOKEN: { secretsManager: 'shop/prod/prometheus' } }, metrics: [metric({ provider: { ...PROMETHEUS, headers: { Authorization: 'Bearer {{secrets.PROM_TOKN}}' } } })] }),
      "analysis.metrics[0].provider.headers.Authorization: uses {{secrets.PROM_TOKN}} but analysis.secrets has no 'PROM_TOKN' (got a string of 28 characters, not shown)",
    ],
    [
      'a header uses a template other than a secret',
      withAnalysis({ metrics: [metric({ provider: { ...PROMETHEUS, headers: { 'X-Scope-OrgID': '{{vars.tenant}}' } } })] }),
      'analysis.metrics[0].provider.headers.X-Scope-OrgID: uses a template other than {{secrets.NAME}} (got "{{vars.tenant}}")',
    ],
    [
      'sigv4 signs a URL that is not an Amazon Managed Service for Prometheus workspace',
      withAnalysis({ metrics: [metric({ provider: { ...PROMETHEUS, sigv4: true } })] }),
      'analysis.metrics[0].provider.url: with sigv4: true must be an Amazon Managed Service for Prometheus workspace URL, https://aps-workspaces.<region>.amazonaws.com/workspaces/<workspace id>: the function is granted aps:QueryMetrics on that workspace only (got "https://prometheus.example.com")',
    ],
    [
      'a CloudWatch provider names two metrics and no expression',
      withAnalysis({
        metrics: [
          metric({ provider: { kind: 'cloudwatch', metrics: { errors: { ...ALB, metricName: 'HTTPCode_Target_5XX_Count', stat: 'Sum' }, requests: { ...ALB, metricName: 'RequestCount', stat: 'Sum' } } } }),
        ],
      }),
      'analysis.metrics[0].provider.expression: is needed with more than one metric (errors, requests): the expression combining them, or the id of the one to read (got nothing)',
    ],
    [
      "a CloudWatch metric is named 'result' beside an expression",
      withAnalysis({
        metrics: [
          metric({
            provider: { kind: 'cloudwatch', expression: 'errors / result', metrics: { errors: { ...ALB, metricName: 'HTTPCode_Target_5XX_Count', stat: 'Sum' }, result: { ...ALB, metricName: 'RequestCount', stat: 'Sum' } } },
          }),
        ],
      }),
      `analysis.metrics[0].provider.metrics.result: 'result' is the id the expression's value is read under: name this metric otherwise (got {"namespace":"AWS/ApplicationELB","dimensions":{"LoadBalancer":"app/shop/0123...)`,
    ],
    [
      'a CloudWatch statistic is unknown',
      withAnalysis({ metrics: [metric({ provider: { kind: 'cloudwatch', metrics: { latency: { ...ALB, metricName: 'TargetResponseTime', stat: 'P95th' } } } })] }),
      'analysis.metrics[0].provider.metrics.latency.stat: must be a statistic such as Average, Sum, Maximum or a percentile such as p95 (got "P95th")',
    ],
    [
      'the checkpoints cannot be read',
      withAnalysis({ checkpoints: '5m, 2m', metrics: [metric()] }),
      'analysis.checkpoints: "2m" must come after 300s: offsets increase (got "5m, 2m")',
    ],
    [
      'a checkpoint comes after the end of the bake',
      withAnalysis({ checkpoints: '2m, 11m', metrics: [metric()] }),
      "analysis.checkpoints: a checkpoint at 660s comes after the bake's end (bake.durationSeconds 600): it would never be measured (got \"2m, 11m\")",
    ],
    [
      'a metric waits as long as the bake lasts',
      withAnalysis({ metrics: [metric({ initialDelaySeconds: 600 })] }),
      'analysis.metrics[0].initialDelaySeconds: must be less than bake.durationSeconds (600): the metric would never be measured (got 600)',
    ],
    [
      'metrics are configured without a bake',
      withAnalysis({ metrics: [metric()] }, { bake: { durationSeconds: 0 } }),
      'bake.durationSeconds: must be more than 0 when analysis.metrics are configured: they are measured during the bake (got 0)',
    ],
    [
      'a log-file pattern is not a regular expression',
      withAnalysis({ metrics: [metric({ provider: { kind: 'log-file', path: 'app.log', pattern: 'ERROR(' } })] }),
      'analysis.metrics[0].provider.pattern: is not a valid regular expression (got "ERROR(")',
    ],
  ];

  it.each(REFUSED)('fails when %s, naming the field and the value', (_case, draft, line) => {
    expect(problemsOf(draft)).toEqual([line]);
  });

  it('accepts conditions that leave a gap (inconclusive) or overlap only in part, and relative ones it cannot judge before the baseline', () => {
    const config = parseConfig(
      withAnalysis({
        metrics: [
          metric({ successCondition: 'result < 1', failureCondition: 'result > 5' }),
          metric({ name: 'overlap', successCondition: 'result <= 1', failureCondition: 'result < 1' }),
          metric({ name: 'relative', successCondition: 'result < baseline', failureCondition: 'result < 2' }),
        ],
      }),
    );
    expect(config.analysis.metrics).toHaveLength(3);
  });

  it('accepts a checkpoint exactly at the end of the bake, and a delay just under it', () => {
    const config = parseConfig(withAnalysis({ checkpoints: '10m', metrics: [metric({ initialDelaySeconds: 599 })] }));
    expect(config.analysis.metrics[0].initialDelaySeconds).toBe(599);
  });

  it('lets a bake of 0 seconds through when no metric needs it', () => {
    expect(parseConfig(withAnalysis({ checkpoints: '2m' }, { bake: { durationSeconds: 0 } })).bake.durationSeconds).toBe(0);
  });
});

describe('where each metric provider runs', () => {
  const logFile = metric({ name: 'errors', provider: { kind: 'log-file', path: 'logs/app.log', pattern: 'ERROR' }, failureCondition: 'result > 0', successCondition: undefined });
  const logs = metric({ name: 'log-errors', provider: { kind: 'logs', logGroupNames: ['/ecs/shop-api'], query: 'stats count()' } });

  it('refuses a log-file metric on AWS, naming the field and what runs there', () => {
    const config = parseConfig(withAnalysis({ metrics: [metric(), logFile] }));
    let error: unknown;
    try {
      assertDeployableToAws(config);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([wrongPlace('metricProvider', 'log-file', 'aws', 'analysis.metrics[1].provider.kind')]);
    expect((error as ConfigError).problems[0]).toMatch(/^analysis\.metrics\[1\]\.provider\.kind: 'log-file' \(lines of a local log file\) runs only in a local rehearsal .*; on AWS use 'prometheus' or 'cloudwatch' or 'logs'.*\(got "log-file"\)$/);
  });

  it('refuses CloudWatch Logs in a rehearsal and lets Prometheus and log files run there', () => {
    const config = parseConfig(withAnalysis({ metrics: [metric(), logFile, logs] }));
    const problems = rehearsalProblems(config).filter((problem) => problem.startsWith('analysis'));
    expect(problems).toEqual([wrongPlace('metricProvider', 'logs', 'local', 'analysis.metrics[2].provider.kind')]);
    expect(problems[0]).toMatch(/^analysis\.metrics\[2\]\.provider\.kind: 'logs' \(a CloudWatch Logs Insights query\) runs only on AWS; in a local rehearsal .* use 'prometheus' .*'log-file'.*\(got "logs"\)$/);
  });

  it('refuses a Prometheus header secret from the environment on AWS', () => {
    const config = parseConfig(withAnalysis({ secrets: { TOKEN: { env: 'PROM_TOKEN' } }, metrics: [metric({ provider: { ...PROMETHEUS, headers: { Authorization: 'Bearer {{secrets.TOKEN}}' } } })] }));
    expect(() => assertDeployableToAws(config)).toThrow(/analysis\.secrets\.TOKEN: env secrets are read only in a local rehearsal/);
  });
});

describe('parseConfig: analysis.watch', () => {
  it('accepts a watch, untilHours defaulting to the rollback window', () => {
    expect(parseConfig(withAnalysis({ metrics: [metric()], watch: { everyMinutes: 60 } })).analysis.watch).toEqual({ everyMinutes: 60 });
    expect(parseConfig(withAnalysis({ metrics: [metric()], watch: { everyMinutes: 30, untilHours: 2.5 } })).analysis.watch).toEqual({ everyMinutes: 30, untilHours: 2.5 });
    expect(parseConfig(withAnalysis({ metrics: [metric()] })).analysis.watch).toBeUndefined();
  });

  it.each([
    { name: 'an interval under 5 minutes', watch: { everyMinutes: 1 }, problem: 'analysis.watch.everyMinutes: Too small: expected number to be >=5 (got 1)' },
    { name: 'a fractional interval', watch: { everyMinutes: 7.5 }, problem: 'analysis.watch.everyMinutes: Invalid input: expected int, received number (got 7.5)' },
    { name: 'no interval', watch: {}, problem: 'analysis.watch.everyMinutes: required (expected number)' },
    { name: 'an unknown field', watch: { everyMinutes: 60, every: '1h' }, problem: 'analysis.watch.every: unknown field (got "1h")' },
    { name: 'a zero untilHours', watch: { everyMinutes: 60, untilHours: 0 }, problem: 'analysis.watch.untilHours: Too small: expected number to be >0 (got 0)' },
    { name: 'a watch past the rollback window', watch: { everyMinutes: 60, untilHours: 9 }, problem: 'analysis.watch.untilHours: must not exceed rollbackWindowHours (8): past the window a failed checkpoint could not roll back (got 9)' },
    {
      name: 'an interval longer than the watch',
      watch: { everyMinutes: 180, untilHours: 2 },
      problem: "analysis.watch.everyMinutes: must not exceed the watch's 120 min (untilHours 2, or rollbackWindowHours): no checkpoint would come before it ends (got 180)",
    },
  ])('refuses $name, naming the field and the value', ({ watch, problem }) => {
    expect(problemsOf(withAnalysis({ metrics: [metric()], watch }))).toEqual([problem]);
  });

  it('refuses a watch without a deciding metric', () => {
    expect(problemsOf(withAnalysis({ watch: { everyMinutes: 60 } }))).toEqual([
      'analysis.watch: needs an analysis metric that decides: analysis.metrics is empty, so no checkpoint could fail (got {"everyMinutes":60})',
    ]);
    expect(problemsOf(withAnalysis({ metrics: [metric({ dryRun: true })], watch: { everyMinutes: 60 } }))).toEqual([
      'analysis.watch: needs an analysis metric that decides: every metric of analysis.metrics is dryRun (p95), so no checkpoint could fail (got {"everyMinutes":60})',
    ]);
  });

  it('refuses a watch when the rollback window is 0', () => {
    expect(problemsOf(withAnalysis({ metrics: [metric()], watch: { everyMinutes: 60 } }, { rollbackWindowHours: 0 }))).toEqual([
      'analysis.watch: needs rollbackWindowHours > 0: a failed checkpoint rolls back only inside the rollback window, and it is 0 (got {"everyMinutes":60})',
    ]);
  });
});
