import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { Recipient } from '../../config/notification-topics';
import { RunbookError } from '../../core/errors';
import type { Notifier } from '../../core/ports/notifier';

/**
 * The IAM action behind each AWS call SnsNotifier makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const SNS_NOTIFIER_IAM = {
  publish: 'sns:Publish',
} as const;

/** SNS rejects a Subject of 100 characters or more. */
export const MAX_SUBJECT_LENGTH = 99;

/** One or more topics refused a message (the others got theirs). */
export class NotificationFailedError extends RunbookError {}

/**
 * Publishes to the configured SNS topics, one Publish per topic, the recipient's audience as the `audience` message
 * attribute (a subscription's filter policy can select on it); email subscribers see `subject` as the mail subject.
 */
export class SnsNotifier implements Notifier {
  readonly needsRecipients = true;

  constructor(private readonly sns: SNSClient) {}

  async publish(recipients: readonly Recipient[], subject: string, message: string, attributes: Record<string, string>): Promise<boolean> {
    const results = await Promise.allSettled(
      recipients.map((recipient) =>
        this.sns.send(
          new PublishCommand({
            TopicArn: recipient.topicArn,
            Subject: snsSubject(subject),
            Message: message,
            MessageAttributes: messageAttributes({ ...attributes, audience: recipient.audience }),
          }),
        ),
      ),
    );
    const failed = results.flatMap((result, index) => (result.status === 'rejected' ? [`${recipients[index].topicArn} (${describeCause(result.reason)})`] : []));
    if (failed.length > 0) {
      throw new NotificationFailedError(`${failed.length} of ${recipients.length} topics refused the notification: ${failed.join('; ')}`);
    }
    return recipients.length > 0;
  }
}

function messageAttributes(attributes: Record<string, string>): Record<string, MessageAttributeValue> {
  return Object.fromEntries(Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]));
}

function describeCause(reason: unknown): string {
  return reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason);
}

/**
 * A Subject SNS accepts: printable ASCII on one line, starting with a visible character, under 100
 * characters. Accents are dropped (é → e), other characters become `?`, and a long subject ends in `...`.
 */
export function snsSubject(text: string): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\u2013\u2014]/g, '-')
    .replace(/[\u2018\u2019]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .replace(/[^\u0020-\u007e]/gu, '?')
    .replace(/ {2,}/g, ' ')
    .trim();
  const subject = ascii || 'deploy-runbook notification';
  return subject.length <= MAX_SUBJECT_LENGTH ? subject : `${subject.slice(0, MAX_SUBJECT_LENGTH - 3).trimEnd()}...`;
}
