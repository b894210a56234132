import { deploymentIdFor } from '../../core/deployment-id';
import type { AlarmSource } from '../../core/ports/alarm-source';
import type { AlarmState, Deployment, Execution, SnapshotRef } from '../../core/model';

/**
 * One builder per domain object the tests exchange: a realistic value of the example target (shop-api on ECS
 * with RDS), with only what a test cares about given as overrides.
 */

export const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:execution:shop-api-runbook';
export const REPO = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api';

/** `$.execution` of an execution called `name`. */
export function executionNamed(name: string, startedAt = '2025-03-04T10:00:00.000Z'): Execution {
  return { id: `${STATE_MACHINE}:${name}`, name, startedAt };
}

/** What ValidateInput makes of a deploy request started as `execution`. */
export function deploymentFor(execution: Execution, overrides: Partial<Deployment> = {}): Deployment {
  const version = overrides.version === undefined ? 'v1.4.2' : overrides.version;
  return {
    id: deploymentIdFor(execution.name, execution.id),
    action: 'deploy',
    target: 'shop-api',
    version,
    image: version === null ? null : `${REPO}:${version}`,
    requestedBy: 'ci@github-actions',
    reason: null,
    alarm: null,
    bakeChecks: 30,
    approvalTimeoutSeconds: 3600,
    executionId: execution.id,
    startedAt: execution.startedAt,
    ...overrides,
  };
}

/** A finished, verified snapshot of the example's RDS instance. */
export function snapshotRefOf(id: string, overrides: Partial<SnapshotRef> = {}): SnapshotRef {
  return {
    id,
    arn: `arn:aws:rds:eu-west-1:123456789012:snapshot:${id}`,
    kind: 'rds-instance',
    source: 'shop-prod-db',
    status: 'available',
    engine: 'postgres',
    encrypted: true,
    sizeBytes: 100 * 1024 ** 3,
    location: null,
    checksum: null,
    startedAt: '2025-03-14T09:02:00.000Z',
    completedAt: '2025-03-14T09:09:00.000Z',
    verification: ['status is available'],
    ...overrides,
  };
}

/** A pg_dump the local backups stored for database `source`. */
export function storedDumpOf(id: string, source: string, overrides: Partial<SnapshotRef> = {}): SnapshotRef {
  return snapshotRefOf(id, {
    arn: null,
    kind: 'postgres',
    source,
    encrypted: null,
    sizeBytes: 2048,
    location: `backups/${source}/${id}.dump`,
    checksum: 'a'.repeat(64),
    verification: [],
    ...overrides,
  });
}

/** ValidateInput's alarm source where every alarm is in `state` since `updatedAt` (an alarm rollback needs ALARM). */
export function alarmsIn(state: AlarmState['state'], updatedAt: string, reason: string | null = null): () => AlarmSource {
  return () => ({ states: async (names) => names.map((name) => ({ name, state, reason, updatedAt })) });
}
