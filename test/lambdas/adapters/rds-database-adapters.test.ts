import { RDSClient } from '@aws-sdk/client-rds';
import { describe, expect, it } from 'vitest';
import { AuroraClusterRestorer } from '../../../lambdas/adapters/aws/aurora-restorer';
import { AuroraClusterBackups, RdsInstanceBackups } from '../../../lambdas/adapters/aws/rds-backups';
import { awsDatabaseAdapters } from '../../../lambdas/adapters/aws/rds-database-adapters';
import { RdsInstanceRestorer } from '../../../lambdas/adapters/aws/rds-restorer';
import { auroraConfig, clientConfig, config } from './rds-fixtures';

describe('awsDatabaseAdapters', () => {
  const rds = new RDSClient(clientConfig);

  it('pairs instance snapshots with the instance restorer for an rds-instance database', () => {
    const adapters = awsDatabaseAdapters(config().database, rds);
    expect(adapters?.backups).toBeInstanceOf(RdsInstanceBackups);
    expect(adapters?.restorer).toBeInstanceOf(RdsInstanceRestorer);
  });

  it('pairs cluster snapshots with the cluster restorer for an aurora-cluster database', () => {
    const adapters = awsDatabaseAdapters(auroraConfig().database, rds);
    expect(adapters?.backups).toBeInstanceOf(AuroraClusterBackups);
    expect(adapters?.restorer).toBeInstanceOf(AuroraClusterRestorer);
  });

  it('has none for the rehearsal-only postgres kind or without a database', () => {
    expect(awsDatabaseAdapters(config({ database: { kind: 'postgres' } }).database, rds)).toBeUndefined();
    expect(awsDatabaseAdapters(null, rds)).toBeUndefined();
  });
});
