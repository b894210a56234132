import type { Recipient } from '../../config/notification-topics';

/** Where people hear about deployments: SNS topics on AWS, a file and the console locally. */
export interface Notifier {
  /** True when a message without recipients goes nowhere (SNS); false when every message is shown anyway (a rehearsal's log). */
  readonly needsRecipients: boolean;
  /**
   * Sends one message to its recipients (on AWS one Publish per topic, with `audience` among the attributes);
   * resolves whether anything was sent. A recipient that cannot be reached does not keep the others from theirs:
   * the failure is thrown once every recipient was tried.
   */
  publish(recipients: readonly Recipient[], subject: string, message: string, attributes: Record<string, string>): Promise<boolean>;
}
