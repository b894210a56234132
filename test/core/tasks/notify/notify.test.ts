import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SnsNotifier } from '../../../../adapters/aws/sns-notifier';
import { notify, NotifyEvent } from '../../../../core/tasks/notify/notify';
import type { WindowDecision } from '../../../../core/model';
import { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import { config, deployment, deploymentFor, executionNamed, preflight, release, snapshot, tempFileStore } from '../ledger/fixtures';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:shop-deployments';
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAcUsZ3Jvd0TvY2tlbi1mb3ItdGVzdHM+/Rq1Zk2xYv9=';

const client = new SNSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
const sns = mockClient(client);

/** Parses Parameters as the notify handler would. */
const eventOf = (raw: object) => NotifyEvent.parse(JSON.parse(JSON.stringify({ config, deployment, ...raw })));

const smokeFailed = { Error: 'SmokeTestFailed', Cause: '1 of 5 checks failed: health' };
const restoreTimedOut = { Error: 'RestoreTimedOut', Cause: 'Database restore stuck in phase restore after 360 checks' };
const outsideWindow: WindowDecision = {
  decision: 'outside-window',
  message: 'Release v1.4.2 of shop-api is not rolled back for alarm shop-api-5xx-rate: it finished 9.1 h ago, outside the 8 h rollback window.',
  release: null,
  patch: null,
};

beforeEach(() => sns.reset());

describe('notify', () => {
  it('publishes to the topic with the subject, message and event/target attributes', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const event = eventOf({
      event: 'succeeded',
      outcome: { result: 'succeeded', cause: 'Released v1.4.2 (replacing v1.4.1); 5/5 smoke checks passed; no new alarms in 30 min', reportKey: 'reports/shop-api/d.json', ledgerKey: 'ledger/shop-api.json' },
    });
    expect(await notify(event, { notifier: new SnsNotifier(client) })).toEqual({ published: true });
    expect(sns).toHaveReceivedCommandExactlyOnceWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'shop-api: v1.4.2 released',
      Message: [
        'v1.4.2 is live on shop-api.',
        '',
        'Released v1.4.2 (replacing v1.4.1); 5/5 smoke checks passed; no new alarms in 30 min',
        '',
        'Requested by (as the input says, not verified): ci@github-actions (Release 1.4.2: checkout retries)',
        `Started by: the principal CloudTrail records for StartExecution of ${deployment.executionId}`,
        `Deployment: ${deployment.id}`,
        `Execution: ${deployment.executionId}`,
        "Evidence report: reports/shop-api/d.json (in the runbook's artifact store)",
      ].join('\n'),
      MessageAttributes: {
        event: { DataType: 'String', StringValue: 'succeeded' },
        target: { DataType: 'String', StringValue: 'shop-api' },
        audience: { DataType: 'String', StringValue: 'all' },
      },
    });
  });

  it('publishes nothing and makes no call when no topic is configured', async () => {
    const quiet = { ...config, notifications: { topics: [] } };
    const event = NotifyEvent.parse(JSON.parse(JSON.stringify({ event: 'aborted', config: quiet, deployment, error: smokeFailed })));
    expect(await notify(event, { notifier: new SnsNotifier(client) })).toEqual({ published: false });
    expect(sns).not.toHaveReceivedAnyCommand();
  });

  it('asks for a restore approval with the exact commands that answer it, naming the execution and no token', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-2' });
    await notify(eventOf({ event: 'approval-requested', snapshot, error: smokeFailed }), { notifier: new SnsNotifier(client) });
    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input.Subject).toBe(`APPROVAL NEEDED: restore shop-api database from ${snapshot.id}?`);
    expect(input.Message).toContain(`npx deploy-runbook approve --execution ${deployment.executionId} --by <name>`);
    expect(input.Message).toContain(`npx deploy-runbook approve --execution ${deployment.executionId} --reject --by <name>`);
    expect(input.Message).toContain("states:GetActivityTask, states:SendTaskSuccess and states:SendTaskFailure on the stack's RestoreApprovalActivityArn");
    // Issue 9, item 13: whoever reads the topic (or the logs it is copied to) cannot answer with what it says.
    expect(input.Message).not.toMatch(/task-token|taskToken|--token/i);
    expect(input.Message).toContain('Answer within 60 min; without an answer the database is not restored.');
    expect(input.Message).toContain('every write since then is lost');
    expect(input.MessageAttributes?.event).toEqual({ DataType: 'String', StringValue: 'approval-requested' });
  });

  // Issue 12, item 4: the rollback approval, the same way: the commands, the deadline and what happens without an answer.
  it('asks whether to roll back, with the commands that roll back and keep, the deadline and the default, and no token', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-3' });
    const asking = { ...config, rollbackApproval: { required: true, timeoutMinutes: 30, onTimeout: 'keep' } };
    const event = NotifyEvent.parse(
      JSON.parse(JSON.stringify({ event: 'rollback-approval-requested', config: asking, deployment, release, rollbackTo: preflight.running, error: smokeFailed })),
    );
    await notify(event, { notifier: new SnsNotifier(client) });
    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input.Subject).toBe('APPROVAL NEEDED: roll back shop-api from v1.4.2 to v1.4.1?');
    expect(input.Message).toContain('The deploy of v1.4.2 to shop-api failed: SmokeTestFailed: 1 of 5 checks failed: health.');
    expect(input.Message).toContain(`Roll back:\n  npx deploy-runbook approve --execution ${deployment.executionId} --by <name>`);
    expect(input.Message).toContain(`Keep the new version:\n  npx deploy-runbook approve --execution ${deployment.executionId} --reject --by <name>`);
    expect(input.Message).toContain('Answer within 30 min; without an answer the release is kept (rollbackApproval.onTimeout).');
    expect(input.Message).not.toMatch(/task-token|taskToken|--token/i);
    expect(input.MessageAttributes?.event).toEqual({ DataType: 'String', StringValue: 'rollback-approval-requested' });
  });

  it('fails when a rollback approval request carries a task token', () => {
    const raw = { event: 'rollback-approval-requested', config: { ...config, rollbackApproval: { required: true, timeoutMinutes: 30, onTimeout: 'rollback' } }, deployment, release, rollbackTo: preflight.running, error: smokeFailed, taskToken: TOKEN };
    expect(() => NotifyEvent.parse(raw)).toThrow(/taskToken/);
  });

  it('warns when a rollback approval is requested but no topic is configured, saying what happens without an answer', async () => {
    const quiet = { ...config, notifications: { topics: [] }, rollbackApproval: { required: true, timeoutMinutes: 15, onTimeout: 'rollback' } };
    const warn = vi.fn();
    const event = NotifyEvent.parse(JSON.parse(JSON.stringify({ event: 'rollback-approval-requested', config: quiet, deployment, release, rollbackTo: preflight.running, error: smokeFailed })));
    expect(await notify(event, { notifier: new SnsNotifier(client), warn })).toEqual({ published: false });
    expect(warn.mock.calls[0][0]).toBe(
      'rollback approval for shop-api was requested but no topic receives rollback-approval-requested (notifications.topicArn or notifications.topics): nobody was told; without an answer within 15 min the release is rolled back (rollbackApproval.onTimeout)',
    );
  });

  it('tells people a release was kept instead of rolled back, and that CI sees the failed checks', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-4' });
    const cause = 'Kept v1.4.2 on shop-api instead of rolling back after SmokeTestFailed: 1 of 5 checks failed: health. The rollback was rejected by lead: the new version was kept.';
    await notify(eventOf({ event: 'kept', outcome: { result: 'kept', cause, reportKey: 'reports/shop-api/d.json', ledgerKey: 'ledger/shop-api.json' }, error: smokeFailed }), { notifier: new SnsNotifier(client) });
    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input.Subject).toBe('shop-api: v1.4.2 kept, not rolled back');
    expect(input.Message?.startsWith(`${cause}\n\nThe new version still runs`)).toBe(true);
    expect(input.Message).toContain('ends as failed (ReleaseKept)');
  });

  it('tells people a drill did not prove the backup restorable, why, and only to the audiences listing drill-failed', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-5' });
    const DBA = 'arn:aws:sns:eu-west-1:123456789012:shop-dba';
    const SUPPORT = 'arn:aws:sns:eu-west-1:123456789012:shop-support';
    const drill = { ...deployment, action: 'drill', version: null, image: null, requestedBy: 'restore drill schedule (backup.drillSchedule)', reason: 'scheduled restore drill, rate(7 days)' };
    const notifications = {
      topics: [
        { topicArn: DBA, audience: 'dba', events: ['drill-failed'] },
        { topicArn: SUPPORT, audience: 'support', events: ['aborted'] },
      ],
    };
    const failed = { Error: 'RestoreDrillFailed', Cause: 'the restored data differs from the fingerprint recorded before the backup: orders: 8000 → 7990 rows' };
    const event = NotifyEvent.parse(JSON.parse(JSON.stringify({ event: 'drill-failed', config: { ...config, notifications }, deployment: drill, error: failed })));

    await notify(event, { notifier: new SnsNotifier(client) });

    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input.TopicArn).toBe(DBA);
    expect(input.MessageAttributes).toEqual({
      event: { DataType: 'String', StringValue: 'drill-failed' },
      target: { DataType: 'String', StringValue: 'shop-api' },
      audience: { DataType: 'String', StringValue: 'dba' },
    });
    expect(input.Subject).toBe('shop-api: restore drill FAILED, backup not proven restorable');
    expect(input.Message?.split('\n').slice(0, 3)).toEqual([
      'The restore drill of shop-api did not prove its backup restorable.',
      '',
      `Why: RestoreDrillFailed: ${failed.Cause}`,
    ]);
    expect(input.Message).toContain('Requested by (as the input says, not verified): restore drill schedule (backup.drillSchedule) (scheduled restore drill, rate(7 days))');
  });

  it('warns when an approval is requested but no topic is configured', async () => {
    const quiet = { ...config, notifications: { topics: [] } };
    const warn = vi.fn();
    const event = NotifyEvent.parse(JSON.parse(JSON.stringify({ event: 'approval-requested', config: quiet, deployment, snapshot, error: smokeFailed })));
    expect(await notify(event, { notifier: new SnsNotifier(client), warn })).toEqual({ published: false });
    expect(warn).toHaveBeenCalledOnce();
    expect(warn.mock.calls[0][0]).toContain('nobody was told');
    expect(sns).not.toHaveReceivedAnyCommand();
  });

  it.each<[string, object, string, string[]]>([
    ['aborted', { error: smokeFailed }, 'shop-api: deploy of v1.4.2 aborted', ['was aborted before anything changed', 'Why: SmokeTestFailed: 1 of 5 checks failed: health']],
    [
      'rolled-back',
      { outcome: { result: 'rolled-back', cause: 'Rolled back shop-api from v1.4.2 to v1.4.1 after SmokeTestFailed.', reportKey: null, ledgerKey: null }, error: smokeFailed },
      'shop-api: v1.4.2 rolled back',
      ['Rolled back shop-api from v1.4.2 to v1.4.1 after SmokeTestFailed.', 'ends as failed (RolledBack)'],
    ],
    [
      'rolled-back',
      { outcome: { cause: 'Rolled back after SmokeTestFailed, but the rollback record could not be written: S3 unavailable' }, error: smokeFailed },
      'shop-api: v1.4.2 rolled back',
      ['the rollback record could not be written'],
    ],
    [
      'rollback-failed',
      { error: smokeFailed, rollbackError: restoreTimedOut },
      'ACTION NEEDED: shop-api rollback failed',
      ['Rollback error: RestoreTimedOut: Database restore stuck in phase restore after 360 checks', 'It started after: SmokeTestFailed', 'marked stuck'],
    ],
    ['no-rollback', { window: outsideWindow }, 'shop-api: no rollback (outside-window)', [outsideWindow.message]],
  ])('words the %s event', async (name, slots, subject, fragments) => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    await notify(eventOf({ event: name, ...slots }), { notifier: new SnsNotifier(client) });
    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input.Subject).toBe(subject);
    for (const fragment of fragments) expect(input.Message).toContain(fragment);
    expect(input.MessageAttributes?.event?.StringValue).toBe(name);
  });

  it('names the alarm of an alarm-triggered rollback', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const execution = executionNamed('alarm-1');
    const alarmDeployment = deploymentFor(execution, { action: 'rollback', version: null, image: null, requestedBy: 'eventbridge', alarm: { name: 'shop-api-5xx-rate', reason: 'Threshold Crossed', time: null } });
    await notify(eventOf({ event: 'no-rollback', deployment: alarmDeployment, window: outsideWindow }), { notifier: new SnsNotifier(client) });
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).toContain('Alarm: shop-api-5xx-rate: Threshold Crossed');
  });

  it('names the failed checkpoint of a watch rollback, and calls it one', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const execution = executionNamed('watch-1');
    const watch = { releaseId: deployment.id, checkpoint: 3, at: '2025-03-04T13:45:00.000Z', metrics: ['p95'], reason: 'Metric p95: 0.9 does not meet "result <= baseline * 2"' };
    const watchDeployment = deploymentFor(execution, { action: 'rollback', version: null, image: null, requestedBy: 'post-release watch schedule', watch });
    const error = { Error: 'WatchCheckpointFailed', Cause: `Watch checkpoint 3 of release v1.4.2, 180 min after it: ${watch.reason}` };
    await notify(eventOf({ event: 'aborted', deployment: watchDeployment, error }), { notifier: new SnsNotifier(client) });
    const input = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(input.Subject).toBe('shop-api: post-release watch rollback aborted');
    expect(input.Message).toContain('Watch checkpoint 3 (2025-03-04T13:45:00.000Z) failed: Metric p95: 0.9 does not meet "result <= baseline * 2"');
  });

  it('warns that the lock is still held when releasing it failed after a release', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    const lockError = { Error: 'LockLostError', Cause: JSON.stringify({ errorType: 'LockLostError', errorMessage: 'locks/shop-api.json is now held by ci-7' }) };
    await notify(eventOf({ event: 'succeeded', outcome: { cause: 'Released v1.4.2' }, lockError }), { notifier: new SnsNotifier(client) });
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).toContain(
      'Warning: the deployment lock on shop-api could not be released (LockLostError: locks/shop-api.json is now held by ci-7)',
    );
  });

  it('says nothing about the lock when it was released', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    await notify(eventOf({ event: 'aborted', error: smokeFailed, lockError: null }), { notifier: new SnsNotifier(client) });
    expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).not.toContain('lock');
  });

  it('tells people that an execution ended half done, and that the lock is stuck if it held it', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-9' });
    const ended = { executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:runbook:deploy-v1-4-2', name: 'deploy-v1-4-2', status: 'TIMED_OUT', error: 'States.Timeout', cause: '' };
    const event = NotifyEvent.parse({ event: 'execution-ended', config, ended });

    expect(await notify(event, { notifier: new SnsNotifier(client) })).toEqual({ published: true });

    const sent = sns.commandCalls(PublishCommand)[0].args[0].input;
    expect(sent.Subject).toBe('ACTION NEEDED: shop-api runbook execution TIMED_OUT');
    expect(sent.Message).toContain("Execution deploy-v1-4-2 of the shop-api runbook ended TIMED_OUT (States.Timeout), outside the runbook's own end states");
    expect(sent.Message).toContain('the lock is marked stuck');
    expect(sent.Message).toContain(ended.executionArn);
  });

  describe('topics per audience', () => {
    const SUPPORT = 'arn:aws:sns:eu-west-1:123456789012:shop-support';
    const ONCALL = 'arn:aws:sns:eu-west-1:123456789012:shop-oncall';
    const routed = {
      ...config,
      notifications: {
        topicArn: TOPIC,
        topics: [
          { topicArn: SUPPORT, audience: 'support', events: ['started', 'succeeded', 'rolled-back'] },
          { topicArn: ONCALL, audience: 'on-call', events: ['rollback-failed', 'approval-requested', 'execution-ended'] },
        ],
      },
    };
    const routedEvent = (raw: object) => NotifyEvent.parse(JSON.parse(JSON.stringify({ config: routed, deployment, ...raw })));
    const sent = () => sns.commandCalls(PublishCommand).map((call) => [call.args[0].input.TopicArn, call.args[0].input.MessageAttributes?.audience?.StringValue]);
    let remove: () => Promise<void>;
    let store: FileArtifactStore;

    beforeEach(async () => {
      sns.on(PublishCommand).resolves({ MessageId: 'm' });
      ({ store, remove } = await tempFileStore('notify-'));
      return () => remove();
    });

    /** A ledger whose releases took these many seconds, newest first (null: a deploy that was rolled back). */
    async function ledgerWith(durations: (number | null)[]): Promise<void> {
      const releases = durations.map((seconds, index) => ({
        deploymentId: `deploy-${index}`,
        executionId: `${deployment.executionId}-${index}`,
        version: `v1.4.${index}`,
        image: null,
        ref: `td:${index}`,
        previous: { version: null, image: null, ref: 'td:0' },
        snapshot: null,
        migrationsRan: false,
        finishedAt: '2025-03-01T10:00:00.000Z',
        rolledBack: seconds === null ? { at: '2025-03-01T10:00:00.000Z', executionId: 'x', reason: 'SmokeTestFailed' } : null,
        ...(seconds === null ? {} : { durationSeconds: seconds }),
      }));
      await store.put('ledger/shop-api.json', JSON.stringify({ target: 'shop-api', current: null, releases, events: [] }));
    }

    it('sends the start to the topic of every event and to the audiences listing started, with the expected duration from the ledger', async () => {
      await ledgerWith([600, null, 900, 720]);
      expect(await notify(routedEvent({ event: 'started' }), { notifier: new SnsNotifier(client), store })).toEqual({ published: true });
      const message = [
        'The deploy of v1.4.2 to shop-api has started. Nothing has changed yet: the preflight checks and the backup come first.',
        '',
        'Version: v1.4.2',
        `Image: ${deployment.image}`,
        'Expected duration: about 12 min (median of the last 3 successful deployments: 10 min to 15 min)',
        `Started at: ${deployment.startedAt}`,
        '',
        'Requested by (as the input says, not verified): ci@github-actions (Release 1.4.2: checkout retries)',
        `Started by: the principal CloudTrail records for StartExecution of ${deployment.executionId}`,
        `Deployment: ${deployment.id}`,
        `Execution: ${deployment.executionId}`,
      ].join('\n');
      const attributes = (audience: string) => ({
        event: { DataType: 'String', StringValue: 'started' },
        target: { DataType: 'String', StringValue: 'shop-api' },
        audience: { DataType: 'String', StringValue: audience },
      });
      expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
      expect(sns).toHaveReceivedNthCommandWith(PublishCommand, 1, { TopicArn: TOPIC, Subject: 'shop-api: deploying v1.4.2', Message: message, MessageAttributes: attributes('all') });
      expect(sns).toHaveReceivedNthCommandWith(PublishCommand, 2, { TopicArn: SUPPORT, Subject: 'shop-api: deploying v1.4.2', Message: message, MessageAttributes: attributes('support') });
    });

    it('says the duration is unknown before any successful deployment is recorded', async () => {
      await notify(routedEvent({ event: 'started' }), { notifier: new SnsNotifier(client), store });
      expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).toContain('Expected duration: unknown (no successful deployment recorded yet)');
    });

    it('still sends the start when the ledger cannot be read, saying why the duration is unknown', async () => {
      await store.put('ledger/shop-api.json', 'not json');
      await notify(routedEvent({ event: 'started' }), { notifier: new SnsNotifier(client), store });
      expect(sns.commandCalls(PublishCommand)[0].args[0].input.Message).toContain('Expected duration: unknown (the ledger could not be read: the ledger ledger/shop-api.json is not JSON');
    });

    it.each<[string, object, [string, string][]]>([
      ['succeeded', { outcome: { cause: 'Released v1.4.2' } }, [[TOPIC, 'all'], [SUPPORT, 'support']]],
      ['rollback-failed', { error: smokeFailed, rollbackError: restoreTimedOut }, [[TOPIC, 'all'], [ONCALL, 'on-call']]],
      ['approval-requested', { snapshot, error: smokeFailed }, [[TOPIC, 'all'], [ONCALL, 'on-call']]],
      ['aborted', { error: smokeFailed }, [[TOPIC, 'all']]],
    ])('sends %s only to the topics that receive it', async (name, slots, topics) => {
      await notify(routedEvent({ event: name, ...slots }), { notifier: new SnsNotifier(client), store });
      expect(sent()).toEqual(topics);
    });

    it('publishes nothing, and reads no ledger, when no topic receives the start', async () => {
      const onlyEnds = { ...routed, notifications: { topics: [{ topicArn: ONCALL, audience: 'on-call', events: ['rollback-failed'] }] } };
      const event = NotifyEvent.parse(JSON.parse(JSON.stringify({ event: 'started', config: onlyEnds, deployment })));
      const unreadable = { ...store, get: vi.fn(async () => Promise.reject(new Error('must not be read'))) } as unknown as FileArtifactStore;
      expect(await notify(event, { notifier: new SnsNotifier(client), store: unreadable })).toEqual({ published: false });
      expect(unreadable.get).not.toHaveBeenCalled();
      expect(sns).not.toHaveReceivedAnyCommand();
    });
  });

  it('fails when an approval request carries a task token, or has no snapshot', () => {
    expect(() => eventOf({ event: 'approval-requested', taskToken: TOKEN, snapshot, error: smokeFailed })).toThrow(/taskToken/);
    expect(() => eventOf({ event: 'approval-requested', error: smokeFailed })).toThrow();
  });
});
