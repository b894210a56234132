import { describe, expect, it } from 'vitest';
import { METRIC, OUTCOMES, PHASES } from '../../core/tasks/ledger/deployment-metrics';
import { exampleInput, resources, synth } from './fixtures';

/** The dashboard's body as CloudFormation joins it, with references written as `<Ref>`. */
function dashboardBody(config = exampleInput, dashboard?: boolean): string | undefined {
  const dashboards = Object.values(resources(synth({ config, dashboard }).template)).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
  if (dashboards.length === 0) return undefined;
  expect(dashboards).toHaveLength(1);
  const [separator, parts] = (dashboards[0].Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts.map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part)}>`)).join(separator);
}

describe('the deployments dashboard', () => {
  const body = dashboardBody() ?? '';

  it.each(OUTCOMES)('shows deployments that ended %s, for this target, from the ledger’s namespace', (outcome) => {
    expect(body).toContain(`"DeployRunbook","${METRIC.deployments}","Outcome","${outcome}","Target","shop-api","service","deploy-runbook"`);
  });

  it('shows the duration of each phase, rollbacks by trigger and the deployment duration', () => {
    // Dimensions as CloudWatch lists them, sorted by name: the ledger's EMF documents carry the same three.
    for (const phase of PHASES) expect(body).toContain(`"${METRIC.phaseDuration}","Phase","${phase}","Target","shop-api","service","deploy-runbook"`);
    for (const trigger of ['deploy', 'alarm', 'watch']) expect(body).toContain(`"${METRIC.rollbacks}","Target","shop-api","Trigger","${trigger}","service","deploy-runbook"`);
    expect(body).toContain(`"${METRIC.duration}","Outcome","rolled-back","Target","shop-api","service","deploy-runbook"`);
  });

  it("shows the state machine's own executions: succeeded, failed, timed out and aborted", () => {
    for (const metric of ['ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
      expect(body).toMatch(new RegExp(`"AWS/States","${metric}","StateMachineArn","<\\{"Ref":"Runbook[0-9A-F]+"\\}>"`));
    }
  });

  it('is left out with dashboard: false', () => {
    expect(dashboardBody(exampleInput, false)).toBeUndefined();
  });
});
