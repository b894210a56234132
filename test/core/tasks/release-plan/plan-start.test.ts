import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SnsNotifier } from '../../../../adapters/aws/sns-notifier';
import type { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import type { Release } from '../../../../core/release-plan';
import { notifyPlanStarted, planDurationsKey, recordPlanDuration } from '../../../../core/tasks/release-plan/plan-start';
import { tempFileStore } from '../ledger/fixtures';

const ALL = 'arn:aws:sns:eu-west-1:123456789012:shop-deployments';
const SUPPORT = 'arn:aws:sns:eu-west-1:123456789012:shop-support';
const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:DeployRunbook-ReleasePlans:plan-shop-1';
const client = new SNSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
const sns = mockClient(client);

const release: Release = {
  id: 'plan-shop-1-0a1b2c3d',
  name: 'shop',
  executionId: EXECUTION,
  requestedBy: 'octocat',
  reason: 'release 1.5.0',
  startedAt: '2026-12-06T10:00:00.000Z',
  stages: [
    { name: 'staging', stateMachineArn: 'arn:staging', target: 'shop-api-staging', version: 'v1.5.0', image: 'repo/shop-api:v1.5.0', gates: [{ kind: 'soak', seconds: 1800 }, { kind: 'approval', timeoutSeconds: 7200 }, { kind: 'analysis', metrics: ['p95'] }] },
    { name: 'production', stateMachineArn: 'arn:production', target: 'shop-api', version: 'v1.5.0', image: 'repo/shop-api:v1.5.0', gates: [] },
  ],
};

describe('notifyPlanStarted', () => {
  let store: FileArtifactStore;
  beforeEach(async () => {
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const temp = await tempFileStore('plan-start-');
    store = temp.store;
    return temp.remove;
  });

  it('publishes the stages in order, with versions, gates and the expected duration, to each topic receiving started', async () => {
    for (const [id, minutes] of [['a', 50], ['b', 70], ['c', 60]] as const) {
      await recordPlanDuration(store, { ...release, id }, new Date(Date.parse(release.startedAt) + minutes * 60_000));
    }
    const settings = { topicArn: ALL, topics: [{ topicArn: SUPPORT, audience: 'support', events: ['started' as const] }, { topicArn: 'arn:aws:sns:eu-west-1:123456789012:x', audience: 'on-call', events: ['rollback-failed' as const] }] };
    expect(await notifyPlanStarted(release, settings, { notifier: new SnsNotifier(client), store })).toEqual({ published: true });
    const message = [
      'The release plan shop has started: 2 stages in order, each by its own runbook. When a stage fails, the stages before it are rolled back too.',
      '',
      "1. staging: shop-api-staging → v1.5.0 (image repo/shop-api:v1.5.0); then a soak of 30 min, an approval (answered within 120 min), an analysis of 'p95' against the release's baseline",
      '2. production: shop-api → v1.5.0 (image repo/shop-api:v1.5.0)',
      '',
      'Expected duration: about 1 h 00 min (median of the last 3 successful plan runs: 50 min to 1 h 10 min)',
      'Started at: 2026-12-06T10:00:00.000Z',
      '',
      'Requested by (as the input says, not verified): octocat (release 1.5.0)',
      `Started by: the principal CloudTrail records for StartExecution of ${EXECUTION}`,
      'Release: plan-shop-1-0a1b2c3d',
      `Execution: ${EXECUTION}`,
    ].join('\n');
    const attributes = (audience: string) => ({
      event: { DataType: 'String', StringValue: 'started' },
      target: { DataType: 'String', StringValue: 'shop' },
      plan: { DataType: 'String', StringValue: 'shop' },
      audience: { DataType: 'String', StringValue: audience },
    });
    const subject = 'shop: release plan starting (staging v1.5.0 ? production v1.5.0)';
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    expect(sns).toHaveReceivedNthCommandWith(PublishCommand, 1, { TopicArn: ALL, Subject: subject, Message: message, MessageAttributes: attributes('all') });
    expect(sns).toHaveReceivedNthCommandWith(PublishCommand, 2, { TopicArn: SUPPORT, Subject: subject, Message: message, MessageAttributes: attributes('support') });
  });

  it('publishes nothing without a topic receiving started', async () => {
    expect(await notifyPlanStarted(release, { topics: [{ topicArn: SUPPORT, audience: 'support', events: ['succeeded'] }] }, { notifier: new SnsNotifier(client), store })).toEqual({ published: false });
    expect(sns).not.toHaveReceivedAnyCommand();
  });

  it('says why the duration is unknown when the history cannot be read, and still publishes', async () => {
    await store.put(planDurationsKey('shop'), 'not json');
    await notifyPlanStarted(release, { topicArn: ALL }, { notifier: new SnsNotifier(client), store });
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).toContain('Expected duration: unknown (reports/plans/shop/durations.json could not be read: ');
  });
});

describe('recordPlanDuration', () => {
  it('keeps each successful run once, newest first', async () => {
    const { store, remove } = await tempFileStore('plan-durations-');
    try {
      await recordPlanDuration(store, { ...release, id: 'first' }, new Date('2026-12-06T10:40:00.000Z'));
      await recordPlanDuration(store, { ...release, id: 'second' }, new Date('2026-12-06T10:20:00.000Z'));
      await recordPlanDuration(store, { ...release, id: 'second' }, new Date('2026-12-06T10:25:00.000Z'));
      const { runs } = JSON.parse((await store.get(planDurationsKey('shop')))!.body.toString());
      expect(runs).toEqual([
        { releaseId: 'second', seconds: 1200, finishedAt: '2026-12-06T10:20:00.000Z' },
        { releaseId: 'first', seconds: 2400, finishedAt: '2026-12-06T10:40:00.000Z' },
      ]);
    } finally {
      await remove();
    }
  });
});
