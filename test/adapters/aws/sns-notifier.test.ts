import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { MAX_SUBJECT_LENGTH, SnsNotifier, snsSubject } from '../../../adapters/aws/sns-notifier';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:shop-deployments';
const client = new SNSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
const sns = mockClient(client);

beforeEach(() => sns.reset());

describe('SnsNotifier', () => {
  it('publishes one message with every attribute as a String attribute', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await new SnsNotifier(client, TOPIC).publish('shop-api: v1.4.2 released', 'v1.4.2 is live.', { event: 'succeeded', target: 'shop-api' });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: TOPIC,
      Subject: 'shop-api: v1.4.2 released',
      Message: 'v1.4.2 is live.',
      MessageAttributes: { event: { DataType: 'String', StringValue: 'succeeded' }, target: { DataType: 'String', StringValue: 'shop-api' } },
    });
  });

  it('fails with the SNS error when publishing fails', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('User is not authorized to perform: SNS:Publish'), { name: 'AuthorizationErrorException' }));
    await expect(new SnsNotifier(client, TOPIC).publish('s', 'm', { event: 'aborted', target: 'shop-api' })).rejects.toThrow('SNS:Publish');
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
