/**
 * Who hears about what: `notifications.topicArn` gets every event, each of `notifications.topics` the events it
 * lists, for its audience. Read by the schema, the notify task (whom to publish to), IAM (what to publish to) and
 * the region check. No zod here: the notify function bundles this module.
 */

/** Every event a notification is sent for, in the order a deployment meets them. */
export const NOTIFICATION_EVENTS = [
  'started',
  'succeeded',
  'aborted',
  'rolled-back',
  'rollback-failed',
  'no-rollback',
  'approval-requested',
  'rollback-approval-requested',
  'kept',
  'drill-failed',
  'execution-ended',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** The audience named for `notifications.topicArn`, which receives every event. */
export const EVERY_EVENT_AUDIENCE = 'all';

export interface NotificationTopic {
  readonly topicArn: string;
  readonly audience: string;
  readonly events: readonly NotificationEvent[];
}

/** The `notifications` section of a configuration (or of a release plan stack). */
export interface NotificationSettings {
  readonly topicArn?: string;
  readonly topics?: readonly NotificationTopic[];
}

/** One topic a message goes to, and the audience it is for (a message attribute subscribers can filter on). */
export interface Recipient {
  readonly topicArn: string;
  readonly audience: string;
}

/** The topics that receive `event`: `topicArn` first, then each topic listing the event, in configuration order. */
export function recipientsOf(settings: NotificationSettings, event: NotificationEvent): Recipient[] {
  const recipients: Recipient[] = settings.topicArn ? [{ topicArn: settings.topicArn, audience: EVERY_EVENT_AUDIENCE }] : [];
  for (const topic of settings.topics ?? []) {
    if (topic.events.includes(event)) recipients.push({ topicArn: topic.topicArn, audience: topic.audience });
  }
  return recipients;
}

/** Every topic configured, each once, with the field that names it: what the notify function may publish to. */
export function configuredTopics(settings: NotificationSettings): { readonly field: string; readonly topicArn: string }[] {
  return [
    ...(settings.topicArn ? [{ field: 'notifications.topicArn', topicArn: settings.topicArn }] : []),
    ...(settings.topics ?? []).map((topic, index) => ({ field: `notifications.topics[${index}].topicArn`, topicArn: topic.topicArn })),
  ];
}
