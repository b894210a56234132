import { DescribeStateMachineCommand, SFNClient, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runbookConfigOf, SfnRunbookCatalog } from '../../../adapters/aws/sfn-runbook-catalog';

const STAGING = 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-staging';
const PRODUCTION = 'arn:aws:states:eu-west-1:123456789012:stateMachine:DeployRunbook-shop-api';
/** What DescribeStateMachine returns for a runbook: its definition, the configuration written into ValidateInput. */
const runbookDefinition = (name: string, kind = 'ecs', sql: unknown[] = [], metrics: unknown[] = []) =>
  JSON.stringify({ StartAt: 'LoadConfig', States: { ValidateInput: { Type: 'Task', Parameters: { config: { name, target: { kind }, checks: { sql }, analysis: { metrics } } } } } });

const sfn = mockClient(SFNClient);
const catalog = () =>
  new SfnRunbookCatalog(sfn as unknown as SFNClient, [
    { stateMachineArn: STAGING, target: 'shop-staging', bucketName: 'runbook-staging-artifacts' },
    { stateMachineArn: PRODUCTION, target: null, bucketName: null },
  ]);

beforeEach(() => sfn.reset());

describe('SfnRunbookCatalog', () => {
  it('describes the named runbook and reads its target and SQL check names from the definition', async () => {
    const sql = [{ name: 'backfill complete', sql: 'SELECT 0', expect: { equals: 0 }, when: ['after-migrations'] }, { name: 'queue drained', sql: 'SELECT 0', expect: { equals: 0 }, when: ['preflight'] }];
    sfn.on(DescribeStateMachineCommand, { stateMachineArn: STAGING }).resolves({ definition: runbookDefinition('shop-staging', 'ecs', sql) });
    expect(await catalog().find({ stateMachineArn: STAGING })).toEqual({ stateMachineArn: STAGING, target: 'shop-staging', targetKind: 'ecs', checks: ['backfill complete', 'queue drained'], metrics: [] });
    expect(sfn.commandCalls(DescribeStateMachineCommand).map((call) => call.args[0].input)).toEqual([{ stateMachineArn: STAGING }]);
  });

  it("reads the deciding analysis metrics' names (not the dry-run ones) for a plan's analysis gate", async () => {
    const provider = { kind: 'prometheus', url: 'https://prometheus.example.com', query: 'q' };
    const metrics = [
      { name: 'p95', provider, successCondition: 'result <= baseline * 2', dryRun: false },
      { name: 'cpu', provider, successCondition: 'result < 70', dryRun: true },
      { name: 'errors', provider, failureCondition: 'result > 0.01', dryRun: false },
    ];
    sfn.on(DescribeStateMachineCommand, { stateMachineArn: STAGING }).resolves({ definition: runbookDefinition('shop-staging', 'ecs', [], metrics) });
    expect(await catalog().find({ stateMachineArn: STAGING })).toMatchObject({ target: 'shop-staging', checks: [], metrics: ['p95', 'errors'] });
  });

  it('refuses a state machine the plan stack was not given, without asking AWS', async () => {
    const other = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Other';
    expect(await catalog().find({ stateMachineArn: other })).toBe(`${other} is not one of the runbooks this plan stack may start (${STAGING}, ${PRODUCTION})`);
    expect(sfn.commandCalls(DescribeStateMachineCommand)).toHaveLength(0);
  });

  it('says a deleted runbook does not exist', async () => {
    sfn.on(DescribeStateMachineCommand).rejects(new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} }));
    expect(await catalog().find({ stateMachineArn: PRODUCTION })).toBe(`no state machine ${PRODUCTION} exists (DescribeStateMachine: StateMachineDoesNotExist)`);
  });

  it('refuses a state machine that is not a runbook', async () => {
    sfn.on(DescribeStateMachineCommand).resolves({ definition: JSON.stringify({ StartAt: 'A', States: { A: { Type: 'Pass', End: true } } }) });
    expect(await catalog().find({ stateMachineArn: PRODUCTION })).toContain('is not a deploy-runbook runbook');
  });

  it('refuses stack names and configuration files: the CLI resolves stacks, files are for rehearsals', async () => {
    expect(await catalog().find({ stack: 'DeployRunbook-shop-api' })).toContain('resolves a stack name to its StateMachineArn output');
    expect(await catalog().find({ config: 'staging.json' })).toContain('only in a rehearsal');
  });

  it("links a stage's report in its runbook's bucket when the stack knows it", async () => {
    expect(await catalog().reportLocation('shop-staging', 'v2-1a2b3c4d')).toBe('s3://runbook-staging-artifacts/reports/shop-staging/v2-1a2b3c4d.md');
    expect(await catalog().reportLocation('shop-api', 'v2-1a2b3c4d')).toBe('reports/shop-api/v2-1a2b3c4d.md');
  });

  it('reads no configuration from a definition that is not JSON', () => {
    expect(runbookConfigOf('not json')).toBeNull();
  });
});
