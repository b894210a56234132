import { type MessageAttributeValue, PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { RunbookConfig } from '../../config/schema';
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

/**
 * Publishes to the target's SNS topic; email subscribers see `subject` as the mail subject.
 */
export class SnsNotifier implements Notifier {
  constructor(
    private readonly sns: SNSClient,
    readonly topicArn: string,
  ) {}

  async publish(subject: string, message: string, attributes: Record<string, string>): Promise<void> {
    const messageAttributes: Record<string, MessageAttributeValue> = {};
    for (const [name, value] of Object.entries(attributes)) messageAttributes[name] = { DataType: 'String', StringValue: value };
    await this.sns.send(new PublishCommand({ TopicArn: this.topicArn, Subject: snsSubject(subject), Message: message, MessageAttributes: messageAttributes }));
  }
}

/** The notifier of a configuration, or null when it names no topic (nothing is published then). */
export function snsNotifierFor(sns: SNSClient, config: Pick<RunbookConfig, 'notifications'>): SnsNotifier | null {
  const topicArn = config.notifications.topicArn;
  return topicArn ? new SnsNotifier(sns, topicArn) : null;
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
