import { describe, expect, it } from 'vitest';
import { assertDeployableToAws, ConfigError, localOnlyProblems, parseConfig } from '../../config/load';
import rehearsal from '../../examples/rehearsal/runbook.json';
import { type Draft, exampleDraft, exampleWith, TOPIC_ARN } from './fixtures';

const REHEARSAL_PROBLEMS = [
  `target.kind: 'process' runs only in a local rehearsal; on AWS use 'ecs' or 'hook' (got "process")`,
  `database.kind: 'postgres' runs only in a local rehearsal; on AWS use 'rds-instance' or 'aurora-cluster' (got "postgres")`,
  `migrations.kind: 'command' runs only in a local rehearsal; on AWS use 'ecs-task' or 'hook' (got "command")`,
  `alarms.kind: 'prometheus' runs only in a local rehearsal; on AWS use 'cloudwatch' (got "prometheus")`,
];

const APPROVAL_WITHOUT_TOPIC =
  'database.restoreApproval.required: true needs notifications.topicArn — the approval request (with its task token) is sent there, and without it nobody would be asked (got notifications.topicArn unset)';

/** The ConfigError assertDeployableToAws throws; fails the test when it passes. */
function refusal(draft: Draft, source?: string): ConfigError {
  try {
    assertDeployableToAws(parseConfig(draft), source);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected the configuration to be refused for AWS');
}

describe('localOnlyProblems', () => {
  it('finds nothing in a configuration of AWS resources', () => {
    expect(localOnlyProblems(parseConfig(exampleDraft()))).toEqual([]);
  });

  it('names every local-only kind of the rehearsal configuration, with its field and the AWS alternatives', () => {
    expect(localOnlyProblems(parseConfig(structuredClone(rehearsal)))).toEqual(REHEARSAL_PROBLEMS);
  });

  it.each([
    ['a command target', (c: Draft) => (c.target = { kind: 'command', deploy: 'deploy.sh', rollback: 'rollback.sh', current: 'cat VERSION' }), `target.kind: 'command' runs only in a local rehearsal; on AWS use 'ecs' or 'hook' (got "command")`],
    ['a process target', (c: Draft) => (c.target = { kind: 'process', command: ['node', 'server.mjs'], port: 8080 }), REHEARSAL_PROBLEMS[0]],
    ['a PostgreSQL database', (c: Draft) => (c.database = { kind: 'postgres' }), REHEARSAL_PROBLEMS[1]],
    ['command migrations', (c: Draft) => (c.migrations = { kind: 'command', command: 'npm run migrate' }), REHEARSAL_PROBLEMS[2]],
    ['Prometheus alarms', (c: Draft) => (c.alarms = { kind: 'prometheus', metricsUrl: 'http://127.0.0.1:8080/metrics' }), REHEARSAL_PROBLEMS[3]],
  ])('names %s alone', (_kind, edit, line) => {
    const draft = exampleWith((c) => {
      edit(c);
      if (c.target.kind !== 'ecs') c.migrations = c.migrations.kind === 'ecs-task' ? null : c.migrations;
    });

    expect(localOnlyProblems(parseConfig(draft))).toEqual([line]);
  });

  it('has nothing to say about a configuration without a database or migrations', () => {
    expect(localOnlyProblems(parseConfig(exampleWith((c) => ((c.database = null), (c.migrations = null)))))).toEqual([]);
  });
});

describe('assertDeployableToAws', () => {
  it('accepts config/example.json', () => {
    expect(() => assertDeployableToAws(parseConfig(exampleDraft()))).not.toThrow();
  });

  it('fails when the configuration uses rehearsal-only kinds, naming the source and every one of them', () => {
    const error = refusal(structuredClone(rehearsal), 'examples/rehearsal/runbook.json');

    expect(error.source).toBe('examples/rehearsal/runbook.json');
    expect(error.problems).toEqual(REHEARSAL_PROBLEMS);
    expect(error.message.startsWith('examples/rehearsal/runbook.json is not a valid deploy-runbook configuration:\n')).toBe(true);
  });

  it('fails when restore approval is required but no topic would carry the request', () => {
    const error = refusal(exampleWith((c) => ((c.database.restoreApproval = { required: true }), (c.notifications = {}))));

    expect(error.source).toBe('configuration');
    expect(error.problems).toEqual([APPROVAL_WITHOUT_TOPIC]);
  });

  it('accepts required restore approval when a topic is configured', () => {
    const draft = exampleWith((c) => ((c.database.restoreApproval = { required: true }), (c.notifications = { topicArn: TOPIC_ARN })));

    expect(() => assertDeployableToAws(parseConfig(draft))).not.toThrow();
  });

  it('accepts a missing topic when no approval is required', () => {
    expect(() => assertDeployableToAws(parseConfig(exampleWith((c) => (c.notifications = {}))))).not.toThrow();
  });

  it('fails with every problem at once: local kinds and the approval without a topic', () => {
    const draft = structuredClone(rehearsal) as Draft;
    draft.database.restoreApproval = { required: true, timeoutMinutes: 15 };

    expect(refusal(draft).problems).toEqual([...REHEARSAL_PROBLEMS, APPROVAL_WITHOUT_TOPIC]);
  });
});
