import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_SUBJECT_LENGTH, NotificationFailedError, SnsNotifier, snsSubject } from '../../../adapters/aws/sns-notifier';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:shop-deployments';
const client = new SNSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
const sns = mockClient(client);

beforeEach(() => sns.reset());

const SUPPORT = 'arn:aws:sns:eu-west-1:123456789012:shop-support';
const ALL = { topicArn: TOPIC, audience: 'all' };

describe('SnsNotifier', () => {
  it('publishes one message with every attribute and the audience as String attributes', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    expect(await new SnsNotifier(client).publish([ALL], 'shop-api: v1.4.2 released', 'v1.4.2 is live.', { event: 'succeeded', target: 'shop-api' })).toBe(true);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'shop-api: v1.4.2 released',
      Message: 'v1.4.2 is live.',
      MessageAttributes: {
        event: { DataType: 'String', StringValue: 'succeeded' },
        target: { DataType: 'String', StringValue: 'shop-api' },
        audience: { DataType: 'String', StringValue: 'all' },
      },
    });
  });

  it('publishes once per topic, each with its own audience', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    await new SnsNotifier(client).publish([ALL, { topicArn: SUPPORT, audience: 'support' }], 's', 'm', { event: 'started', target: 'shop-api' });
    expect(sns.commandCalls(PublishCommand).map((call) => [call.args[0].input.TopicArn, call.args[0].input.MessageAttributes?.audience?.StringValue])).toEqual([
      [TOPIC, 'all'],
      [SUPPORT, 'support'],
    ]);
  });

  it('makes no call and answers false without recipients', async () => {
    expect(await new SnsNotifier(client).publish([], 's', 'm', { event: 'started', target: 'shop-api' })).toBe(false);
    expect(sns).not.toHaveReceivedAnyCommand();
  });

  it('fails with the SNS error when publishing fails', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('User is not authorized to perform: SNS:Publish'), { name: 'AuthorizationErrorException' }));
    await expect(new SnsNotifier(client).publish([ALL], 's', 'm', { event: 'aborted', target: 'shop-api' })).rejects.toThrow(
      `1 of 1 topics refused the notification: ${TOPIC} (AuthorizationErrorException: User is not authorized to perform: SNS:Publish)`,
    );
  });

  it('still publishes to the other topics when one refuses, then fails naming the one that refused', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm' }).on(PublishCommand, { TopicArn: TOPIC }).rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFoundException' }));
    const publishing = new SnsNotifier(client).publish([ALL, { topicArn: SUPPORT, audience: 'support' }], 's', 'm', { event: 'started', target: 'shop-api' });
    await expect(publishing).rejects.toThrow(NotificationFailedError);
    await expect(publishing).rejects.toThrow(`1 of 2 topics refused the notification: ${TOPIC} (NotFoundException: Topic does not exist)`);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: SUPPORT });
  });
});

describe('snsSubject', () => {
  it.each([
    ['shop-api: v1.4.2 — rolled back', 'shop-api: v1.4.2 - rolled back'],
    ['Déploiement échoué', 'Deploiement echoue'],
    ['line one\nline two\ttabbed', 'line one line two tabbed'],
    ['  leading blanks', 'leading blanks'],
    ['ship it 🚀', 'ship it ?'],
    ['\n\n', 'deploy-runbook notification'],
  ])('turns %j into %j', (input, expected) => {
    expect(snsSubject(input)).toBe(expected);
  });

  it('shortens a long subject to under 100 characters, ending in ...', () => {
    const subject = snsSubject(`APPROVAL NEEDED: restore ${'x'.repeat(200)}`);
    expect(subject).toHaveLength(MAX_SUBJECT_LENGTH);
    expect(subject.endsWith('...')).toBe(true);
  });

  it('always yields printable ASCII on one line, starting with a visible character, under 100 characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), (text) => {
        const subject = snsSubject(text);
        expect(subject.length).toBeGreaterThan(0);
        expect(subject.length).toBeLessThan(100);
        expect(subject).toMatch(/^[\x21-\x7e][\x20-\x7e]*$/);
      }),
      { numRuns: 300 },
    );
  });
});
