import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load';
import { configuredTopics, recipientsOf } from '../../config/notification-topics';
import { regionProblems } from '../../lib/config-regions';
import { type Draft, exampleWith, minimalDraft, problemsOf, TOPIC_ARN } from './fixtures';

const SUPPORT = 'arn:aws:sns:eu-west-1:123456789012:shop-support';
const ONCALL = 'arn:aws:sns:eu-west-1:123456789012:shop-oncall';

function withNotifications(notifications: unknown): Draft {
  const draft = minimalDraft();
  draft.notifications = notifications;
  return draft;
}

describe('notifications.topics', () => {
  it('accepts topics per audience beside the topic of every event', () => {
    const topics = [
      { topicArn: SUPPORT, audience: 'support', events: ['started', 'succeeded', 'rolled-back'] },
      { topicArn: ONCALL, audience: 'on-call', events: ['rollback-failed', 'approval-requested', 'execution-ended'] },
    ];
    expect(parseConfig(withNotifications({ topicArn: TOPIC_ARN, topics })).notifications).toEqual({ topicArn: TOPIC_ARN, topics });
  });

  it('defaults to no topics, as before they existed', () => {
    expect(parseConfig(minimalDraft()).notifications).toEqual({ topics: [] });
  });

  it.each<[string, unknown, string[]]>([
    [
      'a topic ARN that is not one',
      [{ topicArn: 'shop-support', audience: 'support', events: ['started'] }],
      ['notifications.topics[0].topicArn: must be an SNS topic ARN (got "shop-support")'],
    ],
    [
      'a FIFO topic',
      [{ topicArn: `${SUPPORT}.fifo`, audience: 'support', events: ['started'] }],
      [`notifications.topics[0].topicArn: must be a standard SNS topic: a FIFO topic needs a message group id, which the notifications do not send (got "${SUPPORT}.fifo")`],
    ],
    [
      'an unknown event',
      [{ topicArn: SUPPORT, audience: 'support', events: ['deployed'] }],
      ['notifications.topics[0].events[0]: Invalid option: expected one of "started"|"succeeded"|"aborted"|"rolled-back"|"rollback-failed"|"no-rollback"|"approval-requested"|"rollback-approval-requested"|"kept"|"drill-failed"|"execution-ended" (got "deployed")'],
    ],
    ['no event', [{ topicArn: SUPPORT, audience: 'support', events: [] }], ['notifications.topics[0].events: Too small: expected array to have >=1 items (got [])']],
    [
      'an event twice',
      [{ topicArn: SUPPORT, audience: 'support', events: ['started', 'started'] }],
      ['notifications.topics[0].events: names started twice (got ["started","started"])'],
    ],
    [
      'the audience of the topic of every event',
      [{ topicArn: SUPPORT, audience: 'all', events: ['started'] }],
      ['notifications.topics[0].audience: is reserved for notifications.topicArn, which receives every event (got "all")'],
    ],
    [
      'an audience that is not a plain name',
      [{ topicArn: SUPPORT, audience: 'Support Team', events: ['started'] }],
      ['notifications.topics[0].audience: must be 1-40 lowercase letters, digits or hyphens, starting with a letter (got "Support Team")'],
    ],
    [
      'the topic of every event again',
      [{ topicArn: TOPIC_ARN, audience: 'support', events: ['started'] }],
      [`notifications.topics[0].topicArn: is already notifications.topicArn: a topic is named once, with every event it receives (got "${TOPIC_ARN}")`],
    ],
    [
      'a topic twice',
      [
        { topicArn: SUPPORT, audience: 'support', events: ['started'] },
        { topicArn: SUPPORT, audience: 'stakeholders', events: ['succeeded'] },
      ],
      [`notifications.topics[1].topicArn: is already notifications.topics[0].topicArn: a topic is named once, with every event it receives (got "${SUPPORT}")`],
    ],
    [
      'an audience twice',
      [
        { topicArn: SUPPORT, audience: 'support', events: ['started'] },
        { topicArn: ONCALL, audience: 'support', events: ['rollback-failed'] },
      ],
      ["notifications.topics[1].audience: duplicate audience: notifications.topics[0] is already for 'support' (got \"support\")"],
    ],
    ['an unknown field', [{ topicArn: SUPPORT, audience: 'support', events: ['started'], filter: {} }], ['notifications.topics[0].filter: unknown field (got {})']],
  ])('fails when a topic has %s, naming the field and the value', (_, topics, problems) => {
    expect(problemsOf(withNotifications({ topicArn: TOPIC_ARN, topics }))).toEqual(problems);
  });
});

describe('recipientsOf', () => {
  const settings = {
    topicArn: TOPIC_ARN,
    topics: [
      { topicArn: SUPPORT, audience: 'support', events: ['started', 'succeeded'] as const },
      { topicArn: ONCALL, audience: 'on-call', events: ['rollback-failed', 'started'] as const },
    ],
  };

  it.each<[Parameters<typeof recipientsOf>[1], string[]]>([
    ['started', ['all', 'support', 'on-call']],
    ['succeeded', ['all', 'support']],
    ['rollback-failed', ['all', 'on-call']],
    ['no-rollback', ['all']],
  ])('sends %s to %j', (event, audiences) => {
    expect(recipientsOf(settings, event).map((recipient) => recipient.audience)).toEqual(audiences);
  });

  it('sends nothing without any topic, and only the listed events without the topic of every event', () => {
    expect(recipientsOf({}, 'started')).toEqual([]);
    expect(recipientsOf({ topics: settings.topics }, 'aborted')).toEqual([]);
    expect(recipientsOf({ topics: settings.topics }, 'succeeded')).toEqual([{ topicArn: SUPPORT, audience: 'support' }]);
  });

  it('lists every configured topic with its field', () => {
    expect(configuredTopics(settings)).toEqual([
      { field: 'notifications.topicArn', topicArn: TOPIC_ARN },
      { field: 'notifications.topics[0].topicArn', topicArn: SUPPORT },
      { field: 'notifications.topics[1].topicArn', topicArn: ONCALL },
    ]);
  });
});

describe('topics and the stack region', () => {
  it('fails when an audience topic is in another region, naming its field', () => {
    const config = parseConfig(exampleWith((c) => (c.notifications = { topicArn: TOPIC_ARN, topics: [{ topicArn: SUPPORT.replace('eu-west-1', 'us-east-1'), audience: 'support', events: ['started'] }] })));
    expect(regionProblems(config, 'eu-west-1').filter((problem) => problem.startsWith('notifications'))).toEqual([
      `notifications.topics[0].topicArn: is in us-east-1, but the stack deploys to eu-west-1, whose functions cannot use it; synthesize for us-east-1 (AWS_REGION=us-east-1) or name a resource in eu-west-1 (got "${SUPPORT.replace('eu-west-1', 'us-east-1')}")`,
    ]);
  });
});
