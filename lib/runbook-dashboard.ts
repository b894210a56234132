import { Duration } from 'aws-cdk-lib';
import { Dashboard, GraphWidget, type IMetric, Metric, SingleValueWidget, TextWidget } from 'aws-cdk-lib/aws-cloudwatch';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SERVICE_NAME } from '../core/service-name';
import { METRIC, METRICS_NAMESPACE, OUTCOMES, PHASES } from '../core/tasks/ledger/deployment-metrics';


/** The rollbacks graph's series, by the Trigger dimension the ledger records. */
const ROLLBACK_LABELS = { deploy: 'failed deploy', alarm: 'alarm after release', watch: 'failed watch checkpoint' } as const;

export interface RunbookDashboardProps {
  /** The configuration's `name`: the metrics' `Target` dimension. */
  readonly target: string;
  /** The runbook state machine, for its execution counts. */
  readonly stateMachine: IStateMachine;
  /** @default - a name CloudFormation generates */
  readonly dashboardName?: string;
}

/**
 * One CloudWatch dashboard per runbook: deployments and their outcomes, how long they and each phase took,
 * rollbacks by trigger, and the state machine's own execution counts. The ledger function records the
 * metrics (core/tasks/ledger/deployment-metrics.ts) in the embedded metric format.
 */
export class RunbookDashboard extends Construct {
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: RunbookDashboardProps) {
    super(scope, id);
    const metric = (name: string, dimensions: Record<string, string>, statistic: string, label: string, period = Duration.days(1)): IMetric =>
      new Metric({ namespace: METRICS_NAMESPACE, metricName: name, dimensionsMap: { service: SERVICE_NAME, Target: props.target, ...dimensions }, statistic, label, period });
    const { stateMachine } = props;

    this.dashboard = new Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(30),
      widgets: [
        [
          new TextWidget({
            markdown: `# deploy-runbook: ${props.target}\nEvery deployment and rollback of **${props.target}**. Each one's evidence report is in the runbook's bucket under \`reports/${props.target}/\`.`,
            width: 24,
            height: 2,
          }),
        ],
        [
          new SingleValueWidget({
            title: 'Deployments, last 30 days',
            metrics: OUTCOMES.map((outcome) => metric(METRIC.deployments, { Outcome: outcome }, 'Sum', outcome, Duration.days(30))),
            width: 24,
            height: 4,
          }),
        ],
        [
          new GraphWidget({
            title: 'Deployments by outcome (per day)',
            left: OUTCOMES.map((outcome) => metric(METRIC.deployments, { Outcome: outcome }, 'Sum', outcome)),
            stacked: true,
            width: 12,
          }),
          new GraphWidget({
            title: 'Rollbacks by trigger (per day)',
            left: (['deploy', 'alarm', 'watch'] as const).map((trigger) => metric(METRIC.rollbacks, { Trigger: trigger }, 'Sum', ROLLBACK_LABELS[trigger])),
            stacked: true,
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Deployment duration (ms)',
            left: (['succeeded', 'rolled-back'] as const).flatMap((outcome) => [
              metric(METRIC.duration, { Outcome: outcome }, 'Average', `${outcome}, average`),
              metric(METRIC.duration, { Outcome: outcome }, 'Maximum', `${outcome}, longest`),
            ]),
            width: 12,
          }),
          new GraphWidget({
            title: 'Phase duration, average (ms)',
            left: PHASES.map((phase) => metric(METRIC.phaseDuration, { Phase: phase }, 'Average', phase)),
            stacked: true,
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Executions of the state machine (per day)',
            left: [
              stateMachine.metricSucceeded({ period: Duration.days(1), label: 'succeeded' }),
              stateMachine.metricFailed({ period: Duration.days(1), label: 'failed (rolled back, aborted, refused)' }),
              stateMachine.metricTimedOut({ period: Duration.days(1), label: 'timed out' }),
              stateMachine.metricAborted({ period: Duration.days(1), label: 'aborted by a person' }),
            ],
            stacked: true,
            width: 24,
          }),
        ],
      ],
    });
  }
}
