/** RDS snapshot identifiers are at most this long (DB and cluster snapshots alike). */
const MAX_LENGTH = 255;

/**
 * Makes a string a valid RDS snapshot identifier: lowercase letters, digits and single hyphens, no
 * trailing hyphen. RDS stores identifiers in lowercase, so comparing with what it returns works.
 */
function rdsIdentifier(raw: string): string {
  return raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, MAX_LENGTH)
    .replace(/-+$/, '');
}

/**
 * What every snapshot of `target` starts with: `deploy-runbook-<length of the name>-<name>-`. IAM scopes snapshot
 * permissions to `<prefix>*`; the length keeps target `a` from matching the snapshots of target `a-x`.
 */
export function snapshotIdPrefix(target: string): string {
  const name = rdsIdentifier(target);
  return `deploy-runbook-${name.length}-${name}-`;
}

/**
 * The pre-deploy snapshot of a deployment: `<snapshotIdPrefix(target)><deploymentId>`, made valid for RDS.
 * Deterministic, so a retried TakeSnapshot finds the snapshot its first attempt created.
 */
export function snapshotIdFor(target: string, deploymentId: string): string {
  return rdsIdentifier(`${snapshotIdPrefix(target)}${deploymentId}`);
}
