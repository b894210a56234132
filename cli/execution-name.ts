/** Step Functions' limit on an execution name. */
const MAX_NAME = 80;

/**
 * `v1.4.2-20250102T030405Z`: readable in the console and unique per second. Characters Step Functions
 * refuses in a name become `-`. Starting the same input under the same name again within a second is
 * idempotent for a Standard state machine, so a retried CLI call does not start a second deployment.
 */
export function executionName(version: string, at: Date): string {
  const stamp = at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  const readable = version.replace(/[^A-Za-z0-9._+-]/g, '-').slice(0, MAX_NAME - stamp.length - 1);
  return `${readable}-${stamp}`;
}
