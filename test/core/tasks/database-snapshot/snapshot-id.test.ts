import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { snapshotIdFor, snapshotIdPrefix } from '../../../../core/tasks/database-snapshot/snapshot-id';
import { deploymentIdFor } from '../../../../core/deployment-id';

/** What RDS accepts for DBSnapshotIdentifier and DBClusterSnapshotIdentifier. */
const VALID_RDS_SNAPSHOT_ID = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9]))*$/;

/** Targets as the configuration allows them (`name`). */
const target = fc.stringMatching(/^[a-z][a-z0-9-]{0,38}[a-z0-9]$/);

describe('snapshotIdFor', () => {
  it('names the snapshot after the target and the deployment', () => {
    expect(snapshotIdFor('shop-api', 'release-v1-5-0-1a2b3c4d')).toBe('deploy-runbook-8-shop-api-release-v1-5-0-1a2b3c4d');
  });

  it('replaces characters RDS refuses and collapses hyphens', () => {
    expect(snapshotIdFor('Shop_API', 'Run #1 -- hotfix-')).toBe('deploy-runbook-8-shop-api-run-1-hotfix');
  });

  it('cuts long identifiers to 255 characters without leaving a trailing hyphen', () => {
    // 'deploy-runbook-8-shop-api-' + 228 letters puts the hyphen at character 255.
    const id = snapshotIdFor('shop-api', `${'a'.repeat(228)}-${'b'.repeat(40)}`);
    expect(id).toHaveLength(254);
    expect(id.endsWith('-')).toBe(false);
  });

  it('always returns a valid RDS snapshot identifier of at most 255 characters', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 300 }), (anyTarget, anyDeployment) => {
        const id = snapshotIdFor(anyTarget, anyDeployment);
        expect(id).toMatch(VALID_RDS_SNAPSHOT_ID);
        expect(id.length).toBeLessThanOrEqual(255);
      }),
    );
  });

  it('is deterministic, so a retried TakeSnapshot looks for the same snapshot', () => {
    fc.assert(
      fc.property(target, fc.string(), fc.string({ minLength: 1 }), (name, executionName, executionArn) => {
        const deploymentId = deploymentIdFor(executionName, executionArn);
        expect(snapshotIdFor(name, deploymentId)).toBe(snapshotIdFor(name, deploymentId));
      }),
    );
  });

  it('keeps ids that are already valid unchanged, so different deployments get different snapshots', () => {
    fc.assert(
      fc.property(target.filter((name) => !name.includes('--')), fc.string(), fc.string({ minLength: 1 }), (name, executionName, executionArn) => {
        const deploymentId = deploymentIdFor(executionName, executionArn);
        expect(snapshotIdFor(name, deploymentId)).toBe(`deploy-runbook-${name.length}-${name}-${deploymentId}`);
      }),
    );
  });

  it("never starts with another target's prefix, so one target's grant covers none of another's snapshots", () => {
    expect(snapshotIdFor('a-x', 'release-1').startsWith(snapshotIdPrefix('a'))).toBe(false);
    fc.assert(
      fc.property(target, target, fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/), (mine, other, deploymentId) => {
        fc.pre(mine !== other);
        expect(snapshotIdFor(other, deploymentId).startsWith(snapshotIdPrefix(mine))).toBe(false);
      }),
    );
  });

  it('starts with the prefix IAM policies grant on', () => {
    fc.assert(
      fc.property(target, fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/), (name, deploymentId) => {
        expect(snapshotIdFor(name, deploymentId).startsWith(snapshotIdPrefix(name))).toBe(true);
      }),
    );
  });
});
