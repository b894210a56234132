/** Where people hear about deployments: SNS on AWS, a file and the console locally. */
export interface Notifier {
  publish(subject: string, message: string, attributes: Record<string, string>): Promise<void>;
}
