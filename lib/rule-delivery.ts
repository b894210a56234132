import { Duration, Validations } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** How the runbook's EventBridge rules deliver: retried for two hours, then kept in their dead-letter queue. */
export const RULE_DELIVERY = { retryAttempts: 8, maxEventAge: Duration.hours(2) } as const;

/** An encrypted, TLS-only queue for the events a rule could not deliver, kept 14 days; `what` names whose it is. */
export function ruleDeadLetterQueue(scope: Construct, what: string): Queue {
  const queue = new Queue(scope, 'DeadLetterQueue', {
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason: `This queue is itself the dead-letter queue of ${what}` });
  return queue;
}
