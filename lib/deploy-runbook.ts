import { type RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import { Policy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import { Activity, DefinitionBody, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { assertDeployableToAws, ConfigError, parseConfig } from '../config/load';
import type { RunbookConfig, RunbookConfigInput } from '../config/schema';
import { ACTIVITY_PLACEHOLDER, configSubstitutions, FUNCTION_PLACEHOLDERS, functionFolder, loadDefinition, substitute } from '../statemachines/definition';
import { AbandonedExecutionRule } from './abandoned-execution-rule';
import { AlarmRollbackRule } from './alarm-rollback-rule';
import { regionProblems } from './config-regions';
import { ArtifactBucket, restrictWriters } from './artifact-bucket';
import { DefinitionMismatchError, InvalidRunbookPropsError } from './errors';
import { acknowledgeWildcardResources } from './nag-acknowledgements';
import { RunbookDashboard } from './runbook-dashboard';
import { DATABASE_CLIENT_ENVIRONMENT, databaseFolders, networkFolders, runbookNetwork, type RunbookNetwork } from './network';
import { executionLogs } from './execution-logs';
import { RunbookFunction } from './runbook-function';
import { databaseConnectionGrants, executionHistoryGrant, type TaskGrant, taskGrants } from './task-permissions';
import { takesLogicalBackups } from '../config/kinds';
import { PgBackupTask } from './pg-backup-task';
import { BACKUP_TASK_ENV } from '../adapters/aws/ecs-pg-backups';
import { WatchScheduleRule } from './watch-schedule-rule';
import { DrillSchedule } from './drill-schedule';
import { stateTimeouts } from './task-timeouts';

export interface DeployRunbookProps {
  /**
   * The runbook configuration: parsed (`RunbookConfig`) or raw JSON. It is validated again here, and kinds
   * that only run in a local rehearsal (command, process, postgres, prometheus) are rejected.
   */
  readonly config: RunbookConfig | RunbookConfigInput;
  /** Name of the state machine. @default - a name CloudFormation generates */
  readonly stateMachineName?: string;
  /** Retention of the state machine's and the functions' log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the artifact bucket (ledger, locks, backup manifests, reports) and its access-log bucket
   * when they leave the stack. `DESTROY` only succeeds once the buckets are empty.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Start a rollback execution when a configured CloudWatch alarm enters ALARM.
   * @default - on when `alarms` is `cloudwatch` with at least one name and `rollbackWindowHours` > 0
   */
  readonly alarmRollback?: boolean;
  /**
   * A CloudWatch dashboard of the runbook's deployments, outcomes, durations and rollbacks.
   * @default true
   */
  readonly dashboard?: boolean;
}

/**
 * A production deployment runbook on AWS: a Standard Step Functions state machine running
 * `statemachines/deployment.asl.json` with the configuration baked in, one Lambda function per task
 * folder with least-privilege permissions, the S3 artifact store, and (optionally) the EventBridge rule that
 * rolls a release back when one of its alarms fires.
 */
export class DeployRunbook extends Construct {
  /** The validated configuration, defaults filled in, as the state machine carries it. */
  readonly config: RunbookConfig;
  /** The runbook state machine (the construct's default child). */
  readonly stateMachine: StateMachine;
  /** The artifact store: `locks/`, `ledger/`, `backups/`, `reports/`. */
  readonly bucket: Bucket;
  /**
   * The activity a restore approval waits on. Whoever approves restores needs states:GetActivityTask,
   * states:SendTaskSuccess and states:SendTaskFailure on its ARN (the state machine role needs nothing to wait on it).
   */
  readonly restoreApproval: Activity;
  /** The ECS task that takes and restores logical backups, for a `postgres` database. */
  readonly backupTask?: PgBackupTask;
  /** The configured `network` as CDK objects (lib/network.ts), when set: for other constructs that must run beside the functions. */
  readonly network?: RunbookNetwork;
  /** The task functions by folder under `lambdas/` (`deploy-target`, `smoke-test`, …). */
  readonly functions: Readonly<Record<string, RunbookFunction>>;
  /** The alarm-triggered rollback, when enabled. */
  readonly alarmRollback?: AlarmRollbackRule;
  /** The post-release watch's schedule, when `analysis.watch` is configured. */
  readonly watchSchedule?: WatchScheduleRule;
  /** The restore drill's schedule, when `backup.drillSchedule` is configured. */
  readonly drillSchedule?: DrillSchedule;
  /** Marks the lock stuck and notifies when an execution times out, is stopped or fails outside its Fail states. */
  readonly abandonedExecutions: AbandonedExecutionRule;
  /** The deployments dashboard, unless `dashboard: false`. */
  readonly dashboard?: RunbookDashboard;

  constructor(scope: Construct, id: string, props: DeployRunbookProps) {
    super(scope, id);
    const source = `DeployRunbook ${this.node.path} config`;
    this.config = parseConfig(props.config, source);
    assertDeployableToAws(this.config, source);
    const region = Stack.of(this).region;
    // An environment-agnostic stack is checked where its region is chosen (bin/app.ts).
    const misplaced = Token.isUnresolved(region) ? [] : regionProblems(this.config, region);
    if (misplaced.length > 0) throw new ConfigError(source, misplaced);
    const rollbackAlarms = this.rollbackAlarms(props.alarmRollback);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.bucket = new ArtifactBucket(this, 'Artifacts', { removalPolicy: props.removalPolicy }).bucket;

    const definition = loadDefinition();
    const timeouts = stateTimeouts(definition);
    const grants: Record<string, readonly TaskGrant[]> = { ...taskGrants(this, this.config, this.bucket) };
    const functions: Record<string, RunbookFunction> = {};
    this.network = this.config.network && runbookNetwork(this, 'Network', this.config.network);
    const { database } = this.config;
    if (database && takesLogicalBackups(database)) {
      // Config validation requires network for logical backups on AWS: the task runs in its subnets.
      if (!this.network) throw new InvalidRunbookPropsError(`network: logical backups of a ${database.kind} database on AWS are taken by an ECS task that needs subnets (got nothing)`);
      this.backupTask = new PgBackupTask(this, 'PgBackupTask', { database, target: this.config.name, bucket: this.bucket, network: this.network, logRetention });
      grants['database-snapshot'] = [...(grants['database-snapshot'] ?? []), ...this.backupTask.snapshotGrants];
      if (database.kind === 'postgres') {
        grants['restore-database'] = [...(grants['restore-database'] ?? []), ...this.backupTask.restoreGrants];
      } else {
        // RDS and Aurora: the snapshot stays what a rollback restores, so the restore function never starts the task. Preflight
        // and the snapshot function connect as the task will (SnapshotWithLogicalCopy): the connection secret.
        for (const folder of ['preflight', 'database-snapshot']) grants[folder] = [...(grants[folder] ?? []), ...databaseConnectionGrants(this, this.config)];
      }
    }
    const placed = new Set(this.network ? networkFolders(this.config) : []);
    const connecting = new Set(databaseFolders(this.config));
    for (const placeholder of FUNCTION_PLACEHOLDERS) {
      const folder = functionFolder(placeholder);
      const stateTimeout = timeouts.get(placeholder);
      if (!stateTimeout) throw new DefinitionMismatchError(`no Task state calling \${${placeholder}} has a TimeoutSeconds (lambdas/${folder})`);
      functions[folder] = new RunbookFunction(this, placeholder.replace(/Arn$/, ''), {
        folder,
        stateTimeout,
        bucket: this.bucket,
        grants: grants[folder] ?? [],
        logRetention,
        network: placed.has(folder) ? this.network : undefined,
        environment: connecting.has(folder) ? DATABASE_CLIENT_ENVIRONMENT : undefined,
      });
    }
    this.functions = functions;
    const roleOf = (folder: string) => functions[folder].role?.roleArn ?? '';
    restrictWriters(this.bucket, 'locks/', [roleOf('deployment-lock'), ...this.config.lock.operatorRoleArns]);
    // The backup task writes its dumps and metas under backups/, and the snapshot function its task records; only under the target's prefix (their grants).
    const backupWriters = this.backupTask ? [this.backupTask.taskDefinition.taskRole.roleArn, roleOf('database-snapshot')] : [];
    for (const prefix of ['ledger/', 'backups/', 'reports/']) restrictWriters(this.bucket, prefix, [roleOf('ledger'), ...(prefix === 'backups/' ? backupWriters : [])]);
    if (this.backupTask) {
      const placement = Stack.of(this).toJsonString(this.backupTask.placement);
      for (const folder of database?.kind === 'postgres' ? ['database-snapshot', 'restore-database'] : ['database-snapshot']) functions[folder].addEnvironment(BACKUP_TASK_ENV, placement);
    }

    const placeholderArns = Object.fromEntries(FUNCTION_PLACEHOLDERS.map((p) => [p, functions[functionFolder(p)].functionArn]));
    // The approval waits on an activity, not on a callback token in the Task's Parameters: those are logged (level ALL).
    this.restoreApproval = new Activity(this, 'RestoreApproval');
    this.stateMachine = new StateMachine(this, 'Resource', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      // The configuration is substituted at synth: the template holds the exact definition that runs.
      definitionBody: DefinitionBody.fromString(JSON.stringify(substitute(definition, configSubstitutions(this.config)))),
      definitionSubstitutions: { ...placeholderArns, [ACTIVITY_PLACEHOLDER]: this.restoreApproval.activityArn },
      logs: executionLogs(this, logRetention),
      tracingEnabled: true,
    });
    // Exactly the unqualified ARNs the definition calls; grantInvoke would add every version and alias (`:*`).
    this.stateMachine.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: Object.values(placeholderArns) }));
    acknowledgeWildcardResources(this.stateMachine.role, [
      {
        resource: '*',
        reason:
          'Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray tracing (xray:PutTraceSegments and related) have no resource-level permissions',
      },
    ]);
    this.grantExecutionHistory(functions.ledger);

    if (props.dashboard ?? true) {
      this.dashboard = new RunbookDashboard(this, 'Dashboard', { target: this.config.name, stateMachine: this.stateMachine });
    }

    this.abandonedExecutions = new AbandonedExecutionRule(this, 'AbandonedExecutions', {
      stateMachine: this.stateMachine,
      config: this.config,
      lockFunction: functions['deployment-lock'],
      notifyFunction: functions.notify,
      definition,
    });

    if (this.config.analysis.watch) {
      this.watchSchedule = new WatchScheduleRule(this, 'WatchSchedule', { stateMachine: this.stateMachine, watch: this.config.analysis.watch });
    }

    if (this.config.backup.drillSchedule !== undefined) {
      this.drillSchedule = new DrillSchedule(this, 'DrillSchedule', { stateMachine: this.stateMachine, backup: this.config.backup });
    }

    if (rollbackAlarms) {
      this.alarmRollback = new AlarmRollbackRule(this, 'AlarmRollback', { stateMachine: this.stateMachine, alarmNames: rollbackAlarms });
    }
  }

  /**
   * The ledger reads its execution's history (the report's path through the runbook). The state machine
   * invokes the ledger, which depends on its role and the role's default policy: a statement naming the state
   * machine goes in a policy of its own, which the function does not wait for (no CloudFormation cycle).
   */
  private grantExecutionHistory(ledger: RunbookFunction): void {
    const grant = executionHistoryGrant(this, this.stateMachine.stateMachineName);
    const role = ledger.role;
    if (!role) throw new InvalidRunbookPropsError('the ledger function has no role to grant states:GetExecutionHistory to');
    const policy = new Policy(this, 'LedgerExecutionHistoryPolicy', {
      roles: [role],
      statements: [new PolicyStatement({ actions: [...grant.actions], resources: [...grant.resources] })],
    });
    acknowledgeWildcardResources(policy, grant.resources.map((resource) => ({ resource, reason: grant.wildcardReason ?? '' })));
  }

  /** The alarms whose ALARM state starts a rollback, or undefined when the alarm rollback is off. */
  private rollbackAlarms(requested: boolean | undefined): readonly string[] | undefined {
    const { alarms, rollbackWindowHours } = this.config;
    const names = alarms.kind === 'cloudwatch' ? alarms.names : [];
    const enabled = requested ?? (names.length > 0 && rollbackWindowHours > 0);
    if (!enabled) return undefined;
    if (names.length === 0) {
      throw new InvalidRunbookPropsError(`alarmRollback: true needs at least one CloudWatch alarm in alarms.names (got ${JSON.stringify(names)})`);
    }
    if (rollbackWindowHours === 0) {
      throw new InvalidRunbookPropsError('alarmRollback: true needs rollbackWindowHours > 0: with 0 every alarm rollback is refused (got 0)');
    }
    return names;
  }
}
