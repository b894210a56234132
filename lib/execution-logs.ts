import { Names } from 'aws-cdk-lib';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { LogLevel, type LogOptions } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/** A state machine's execution log at level ALL with execution data, in its own log group (`ExecutionLogs` under `scope`). */
export function executionLogs(scope: Construct, retention: RetentionDays): LogOptions {
  return {
    // The vendedlogs prefix keeps Step Functions from growing the account's CloudWatch Logs resource policy.
    destination: new LogGroup(scope, 'ExecutionLogs', {
      logGroupName: `/aws/vendedlogs/states/${Names.uniqueResourceName(scope, { maxLength: 400 })}`,
      retention,
    }),
    level: LogLevel.ALL,
    includeExecutionData: true,
  };
}
