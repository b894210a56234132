import { describe, expect, it } from 'vitest';
import { placeProblems } from '../../config/kinds';
import { assertDeployableToAws, ConfigError, parseConfig } from '../../config/load';
import rehearsal from '../../examples/rehearsal/runbook.json';
import { type Draft, exampleDraft, exampleWith, TOPIC_ARN } from './fixtures';

const REHEARSAL_PROBLEMS = placeProblems(parseConfig(structuredClone(rehearsal)), 'aws');

const approvalWithoutTopic = (topics: number) =>
  `database.restoreApproval.required (true, the default) needs notifications.topicArn or a notifications.topics entry whose events include approval-requested — the approval request (naming the execution to answer with deploy-runbook approve) is sent there, and without it nobody would be asked; set one, or restoreApproval.required to false for automatic restores (got notifications.topicArn unset and ${topics} topics without approval-requested)`;

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

  it('fails when a smoke-test secret would be read from the environment, which on AWS holds the function’s own credentials', () => {
    const draft = exampleWith((c) => (c.smokeTests.secrets = { SMOKE_PASSWORD: { env: 'AWS_SECRET_ACCESS_KEY' } }));

    expect(refusal(draft).problems).toEqual([
      'smokeTests.secrets.SMOKE_PASSWORD: env secrets are read only in a local rehearsal (deploy-runbook rehearse); on AWS name the secret with Secrets Manager, {"secretsManager": "name or ARN", "jsonKey"?} (got {"env":"AWS_SECRET_ACCESS_KEY"})',
    ]);
  });

  it('fails when restore approval is required but no topic would carry the request', () => {
    const error = refusal(exampleWith((c) => ((c.database.restoreApproval = { required: true }), (c.notifications = {}))));

    expect(error.source).toBe('configuration');
    expect(error.problems).toEqual([approvalWithoutTopic(0)]);
  });

  it('fails when restore approval is required but only topics for other events are configured', () => {
    const topics = [{ topicArn: TOPIC_ARN, audience: 'support', events: ['started', 'succeeded'] }];
    expect(refusal(exampleWith((c) => ((c.database.restoreApproval = { required: true }), (c.notifications = { topics })))).problems).toEqual([approvalWithoutTopic(1)]);
  });

  it('accepts required restore approval when an audience topic receives approval-requested', () => {
    const topics = [{ topicArn: TOPIC_ARN, audience: 'on-call', events: ['approval-requested'] }];
    expect(() => assertDeployableToAws(parseConfig(exampleWith((c) => ((c.database.restoreApproval = { required: true }), (c.notifications = { topics })))))).not.toThrow();
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

    expect(refusal(draft).problems).toEqual([...REHEARSAL_PROBLEMS, approvalWithoutTopic(0)]);
  });
});
