import { createHash } from 'node:crypto';

/**
 * A stable id for one execution, safe inside RDS snapshot identifiers and S3 keys: the execution name,
 * lowercased, plus a short hash of the full execution ARN so that two names that normalise alike differ.
 */
export function deploymentIdFor(executionName: string, executionId: string): string {
  const readable = executionName
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  const hash = createHash('sha256').update(executionId).digest('hex').slice(0, 8);
  return readable ? `${readable}-${hash}` : hash;
}
