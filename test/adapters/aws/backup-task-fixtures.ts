import type { BackupTaskPlacement } from '../../../adapters/aws/ecs-pg-backups';

/** The backup task as the stack places it and RunTask answers it: shared by the tests of its Lambda side. */
export const BACKUP_TASK_ARN = 'arn:aws:ecs:eu-west-1:123456789012:task/runbook-backups/0a1b2c3d4e5f';

export const backupTaskPlacement: BackupTaskPlacement = {
  cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/runbook-backups',
  taskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/runbook-pg-backup:3',
  container: 'uploader',
  subnets: ['subnet-0a1b2c3d4e5f67890'],
  securityGroups: ['sg-0a1b2c3d4e5f67890'],
};
