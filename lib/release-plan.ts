import { Arn, ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Bucket, IBucket } from 'aws-cdk-lib/aws-s3';
import { Activity, DefinitionBody, type IStateMachine, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SFN_RUNBOOK_CATALOG_IAM } from '../adapters/aws/sfn-runbook-catalog';
import type { PlanSettings } from '../core/tasks/release-plan/release-plan';
import { loadPlanDefinition, substitute } from '../statemachines/definition';
import { ArtifactBucket, restrictWriters } from './artifact-bucket';
import { InvalidRunbookPropsError } from './errors';
import { acknowledgeWildcardResources } from './nag-acknowledgements';
import { executionLogs } from './execution-logs';
import { RunbookFunction } from './runbook-function';
import { storeGrants, type TaskGrant } from './task-permissions';
import { SNS_NOTIFIER_IAM } from '../adapters/aws/sns-notifier';
import { configuredTopics, type NotificationSettings } from '../config/notification-topics';
import { formatIssues } from '../config/issues';
import { Notifications } from '../config/schema';

/** A runbook a release plan may run as a stage: a DeployRunbook of the same app satisfies it. */
export interface PlanRunbook {
  /** The runbook's state machine: the plan may start executions of it and nothing else. */
  readonly stateMachine: IStateMachine;
  /** Its artifact bucket, for the plan report's links to the stage's reports. @default - links give the key only */
  readonly bucket?: IBucket;
  /** Its configuration's `name` (`DeployRunbook.config.name`). @default - links give the key only */
  readonly config?: { readonly name: string };
}

export interface ReleasePlanRunnerProps {
  /** The runbooks a plan's stages may name; a stage naming another is refused before any stage starts. */
  readonly runbooks: readonly PlanRunbook[];
  /**
   * How long one plan execution may last, every stage, soak and approval included.
   * @default Duration.hours(24)
   */
  readonly executionTimeout?: Duration;
  /** Name of the plan's state machine. @default - a name CloudFormation generates */
  readonly stateMachineName?: string;
  /** Retention of the state machine's and the function's log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the plan's bucket (lock, reports) when it leaves the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Who is told when a plan starts (its stages and versions, who asked, the expected duration): the same shape as a
   * runbook's `notifications` (`topicArn` for every event, `topics` per audience); plans send the `started` event.
   * @default - no plan notification
   */
  readonly notifications?: NotificationSettings;
}

/** The integration `startExecution.sync` subscribes to, to learn that a child ended: a rule Step Functions manages. */
const SYNC_EVENTS_RULE = 'StepFunctionsGetEventsForStepFunctionsExecutionRule';

/**
 * Release plans on AWS: a Standard state machine running `statemachines/release-plan.asl.json` (stages as child
 * executions of the given runbooks, gates, reverse rollback), the plan function (validation, lock, progress,
 * report), the approval activity for approval gates, and the plan's own bucket for its lock and reports.
 */
export class ReleasePlanRunner extends Construct {
  readonly stateMachine: StateMachine;
  /** The plan's store: `locks/<plan>.json`, `reports/plans/<plan>/…`. */
  readonly bucket: Bucket;
  /** Approval gates wait on it: who approves needs states:GetActivityTask and states:SendTaskSuccess/SendTaskFailure on it. */
  readonly approval: Activity;
  readonly planFunction: RunbookFunction;

  constructor(scope: Construct, id: string, props: ReleasePlanRunnerProps) {
    super(scope, id);
    if (props.runbooks.length === 0) throw new InvalidRunbookPropsError('runbooks: a release plan needs at least one runbook to run (got none)');
    const timeout = props.executionTimeout ?? Duration.hours(24);
    if (timeout.toSeconds() < 60 || timeout.toDays() > 365) {
      throw new InvalidRunbookPropsError(`executionTimeout: must be from 1 minute to 365 days (got ${timeout.toHumanString()})`);
    }
    const notifications = planNotifications(props.notifications);
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    this.bucket = new ArtifactBucket(this, 'Artifacts', { removalPolicy: props.removalPolicy }).bucket;
    const stack = Stack.of(this);
    const runbookArns = props.runbooks.map((runbook) => runbook.stateMachine.stateMachineArn);

    this.planFunction = new RunbookFunction(this, 'ReleasePlanFunction', {
      folder: 'release-plan',
      stateTimeout: Duration.seconds(60),
      bucket: this.bucket,
      grants: [
        ...storeGrants(this.bucket, ['locks/*', 'reports/plans/*']),
        // ValidatePlan checks that each stage's runbook exists and reads its target from the definition.
        { actions: [SFN_RUNBOOK_CATALOG_IAM.describeStateMachine], resources: runbookArns },
        // NotifyPlanStarted publishes to exactly the configured topics.
        ...publishGrants(notifications),
      ],
      logRetention,
    });
    this.planFunction.addEnvironment(
      'PLAN_RUNBOOKS',
      stack.toJsonString(
        props.runbooks.map((runbook) => ({ stateMachineArn: runbook.stateMachine.stateMachineArn, target: runbook.config?.name ?? null, bucketName: runbook.bucket?.bucketName ?? null })),
      ),
    );
    const planRole = this.planFunction.role?.roleArn;
    if (!planRole) throw new InvalidRunbookPropsError('the plan function has no role to own locks/ and reports/');
    for (const prefix of ['locks/', 'reports/']) restrictWriters(this.bucket, prefix, [planRole]);

    this.approval = new Activity(this, 'PlanApproval');
    const settings: PlanSettings = { lock: { leaseMinutes: Math.ceil(timeout.toMinutes({ integral: false })) + 5 }, notifications };
    const definition = substitute(loadPlanDefinition(), {
      PlanSettings: settings as never,
      PlanTimeoutSeconds: timeout.toSeconds(),
      StageTimeoutSeconds: timeout.toSeconds(),
    });
    this.stateMachine = new StateMachine(this, 'Resource', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(JSON.stringify(definition)),
      definitionSubstitutions: { ReleasePlanFunctionArn: this.planFunction.functionArn, PlanApprovalActivityArn: this.approval.activityArn },
      logs: executionLogs(this, logRetention),
      tracingEnabled: true,
    });
    this.stateMachine.addToRolePolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.planFunction.functionArn] }));
    // startExecution.sync:2: start the named runbooks only, follow and stop their executions, and the managed rule it listens on.
    this.stateMachine.addToRolePolicy(new PolicyStatement({ actions: ['states:StartExecution'], resources: runbookArns }));
    const executions = props.runbooks.map((runbook) =>
      stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${runbookName(runbook.stateMachine)}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
    );
    this.stateMachine.addToRolePolicy(new PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: executions }));
    const rule = stack.formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_EVENTS_RULE, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    this.stateMachine.addToRolePolicy(new PolicyStatement({ actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'], resources: [rule] }));
    acknowledgeWildcardResources(this.stateMachine.role, [
      {
        resource: '*',
        reason:
          'Step Functions log delivery (logs:CreateLogDelivery and related) and X-Ray tracing (xray:PutTraceSegments and related) have no resource-level permissions',
      },
      ...executions.map((resource) => ({
        resource,
        reason: "execution names are chosen as each child starts: the plan describes and stops only executions of the runbooks it may start",
      })),
    ]);
  }
}

/** The plan's notifications, judged by the configuration's own schema: a bad topic is refused naming the field and the value. */
function planNotifications(raw: NotificationSettings | undefined): NotificationSettings {
  const parsed = Notifications.safeParse(raw ?? {});
  if (!parsed.success) throw new InvalidRunbookPropsError(formatIssues(parsed.error, raw, 'notifications').join('; '));
  return parsed.data;
}

function publishGrants(notifications: NotificationSettings): TaskGrant[] {
  const topics = [...new Set(configuredTopics(notifications).map((topic) => topic.topicArn))];
  return topics.length > 0 ? [{ actions: [SNS_NOTIFIER_IAM.publish], resources: topics }] : [];
}

/** A state machine's name, also for one imported by ARN. */
function runbookName(stateMachine: IStateMachine): string {
  if (stateMachine instanceof StateMachine) return stateMachine.stateMachineName;
  const name = Arn.split(stateMachine.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName;
  if (!name) throw new InvalidRunbookPropsError(`runbooks: ${stateMachine.stateMachineArn} names no state machine`);
  return name;
}
