import { describe, expect, it } from 'vitest';
import { KINDS, placeProblems, type Section, secretSourceProblem, wrongPlace } from '../../config/kinds';
import { parseConfig } from '../../config/load';
import { Alarms, Database, MetricProvider, Migrations, Target } from '../../config/schema';
import rehearsal from '../../examples/rehearsal/runbook.json';
import { exampleDraft } from './fixtures';

const SCHEMAS: Record<Section, { options: readonly { shape: { kind: { value: string } } }[] }> = {
  target: Target as never,
  database: Database as never,
  migrations: Migrations as never,
  alarms: Alarms as never,
  metricProvider: MetricProvider as never,
};

describe('the table of kinds', () => {
  it.each(Object.keys(KINDS) as Section[])('has a row for every %s kind the schema accepts, and none it does not', (section) => {
    const accepted = SCHEMAS[section].options.map((option) => option.shape.kind.value).sort();
    expect(Object.keys(KINDS[section]).sort()).toEqual(accepted);
  });

  it('says where a kind runs and what to use instead, naming the field and the value', () => {
    expect(wrongPlace('target', 'process', 'aws')).toBe(
      `target.kind: 'process' (a local process) runs only in a local rehearsal (deploy-runbook rehearse); on AWS use 'ecs' or 'hook' or 'ssm-hosts' or 'lambda-alias' (got "process")`,
    );
    expect(wrongPlace('database', 'rds-instance', 'local')).toBe(
      `database.kind: 'rds-instance' (an RDS instance) runs only on AWS; in a local rehearsal (deploy-runbook rehearse) use 'postgres', or leave it out (got "rds-instance")`,
    );
    expect(wrongPlace('alarms', 'datadog', 'aws')).toBe(`alarms.kind: 'datadog' is not a kind deploy-runbook knows; on AWS use 'cloudwatch', or leave it out (got "datadog")`);
  });
});

describe('placeProblems', () => {
  it('finds nothing for AWS in config/example.json, and nothing locally in the rehearsal example', () => {
    expect(placeProblems(parseConfig(exampleDraft()), 'aws')).toEqual([]);
    expect(placeProblems(parseConfig(structuredClone(rehearsal)), 'local')).toEqual([]);
  });

  it('names every part of the rehearsal example that AWS cannot run, its log-file metric, the rehearsal Prometheus and secrets from the environment included', () => {
    expect(placeProblems(parseConfig(structuredClone(rehearsal)), 'aws')).toEqual([
      wrongPlace('target', 'process', 'aws'),
      wrongPlace('migrations', 'command', 'aws'),
      wrongPlace('alarms', 'prometheus', 'aws'),
      `database.connection: 'postgres' on AWS reaches the database through a Secrets Manager secret holding {host, port, username, password, dbname} (the RDS secret format); set database.connection to {"secretsManager": "name or ARN"} (got nothing)`,
      `network: 'postgres' on AWS is backed up by an ECS Fargate task, which runs in subnets that reach the database; set network to {"vpcId", "subnetIds", "securityGroupIds"} (got nothing)`,
      `analysis.metrics[0].provider.url: {{prometheus.address}} is the Prometheus a local rehearsal starts; on AWS give your Prometheus' URL or an Amazon Managed Service for Prometheus workspace URL (got "http://{{prometheus.address}}")`,
      `analysis.metrics[1].provider.url: {{prometheus.address}} is the Prometheus a local rehearsal starts; on AWS give your Prometheus' URL or an Amazon Managed Service for Prometheus workspace URL (got "http://{{prometheus.address}}")`,
      wrongPlace('metricProvider', 'log-file', 'aws', 'analysis.metrics[2].provider.kind'),
      `smokeTests.secrets.SMOKE_PASSWORD: env secrets are read only in a local rehearsal (deploy-runbook rehearse); on AWS name the secret with Secrets Manager, {"secretsManager": "name or ARN", "jsonKey"?} (got {"env":"DEMO_SMOKE_PASSWORD"})`,
    ]);
  });

  it('names every part of config/example.json a rehearsal cannot run', () => {
    expect(placeProblems(parseConfig(exampleDraft()), 'local')).toEqual([
      wrongPlace('target', 'ecs', 'local'),
      wrongPlace('database', 'rds-instance', 'local'),
      wrongPlace('migrations', 'ecs-task', 'local'),
      wrongPlace('alarms', 'cloudwatch', 'local'),
      `smokeTests.secrets.SMOKE_PASSWORD: secretsManager secrets are read only on AWS; in a local rehearsal (deploy-runbook rehearse) name the secret with the environment, {"env": "NAME"} (got {"secretsManager":"shop/prod/smoke-user","jsonKey":"password"})`,
    ]);
  });

  it('lets a rehearsal keep a CloudWatch alarms section that names no alarm: it watches nothing', () => {
    const config = parseConfig({ ...structuredClone(rehearsal), alarms: { kind: 'cloudwatch' } });
    expect(placeProblems(config, 'local')).toEqual([]);
  });
});

describe('secretSourceProblem', () => {
  it('refuses {env} on AWS, where the environment holds the function’s own credentials, and Secrets Manager locally', () => {
    expect(secretSourceProblem({ env: 'AWS_SECRET_ACCESS_KEY' }, 'aws')).toMatch(/^env secrets are read only in a local rehearsal/);
    expect(secretSourceProblem({ secretsManager: 'shop/prod' }, 'local')).toMatch(/^secretsManager secrets are read only on AWS/);
    expect(secretSourceProblem({ env: 'TOKEN' }, 'local')).toBeNull();
    expect(secretSourceProblem({ secretsManager: 'shop/prod' }, 'aws')).toBeNull();
  });
});
