import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SfnExecutionHistory } from '../../../../adapters/aws/sfn-execution-history';
import type { FileArtifactStore } from '../../../../adapters/local/file-artifact-store';
import type { ExecutionHistory } from '../../../../core/ports/execution-history';
import { reportKeys } from '../../../../core/tasks/ledger/evidence-report';
import { LedgerEvent, runLedger } from '../../../../core/tasks/ledger/ledger';
import { loadDefinition } from '../../../../statemachines/definition';
import { runbookFlowchart } from '../../../../core/runbook-flowchart';
import { SfnHistoryBuilder } from '../../../support/sfn-history';
import { deployment, execution, failedAfterSmoke, fixedClock, RecordingMetrics, tempFileStore } from './fixtures';

const client = new SFNClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
const sfn = mockClient(client);
const definition = loadDefinition();

function eventOf(operation: LedgerEvent['operation'], slots: object): LedgerEvent {
  return LedgerEvent.parse(JSON.parse(JSON.stringify({ operation, ...slots })));
}

/** The history of that execution up to RecordRollback, which is running (it is the ledger writing the report). */
function rollbackHistory(): SfnHistoryBuilder {
  return new SfnHistoryBuilder()
    .started()
    .pass('Pass', 'LoadConfig')
    .task('ValidateInput')
    .pass('Choice', 'RouteRequest')
    .task('AcquireLock')
    .pass('Choice', 'RouteAction')
    .task('Preflight')
    .task('Deploy')
    .caught('SmokeTest', 'SmokeTestFailed')
    .task('RollbackApp')
    .task('VerifyRollback')
    .running('RecordRollback');
}

describe('the path through the runbook in the report the ledger writes', () => {
  let store: FileArtifactStore;
  const markdown = async () => String((await store.get(reportKeys('shop-api', deployment.id).markdown))?.body);
  const json = async () => JSON.parse(String((await store.get(reportKeys('shop-api', deployment.id).json))?.body)) as { states: { name: string; status: string; ms: number }[] };
  const record = (history: ExecutionHistory) =>
    runLedger(eventOf('record-rollback', failedAfterSmoke()), { store, clock: fixedClock('2025-03-04T10:45:00.000Z'), metrics: new RecordingMetrics(), path: { history, definition } });

  beforeEach(async () => {
    sfn.reset();
    const temp = await tempFileStore('ledger-path-');
    store = temp.store;
    return temp.remove;
  });

  it("draws the runbook with the path its own execution's history shows: passed, failed, then the rollback path, the running Task included", async () => {
    sfn.on(GetExecutionHistoryCommand).resolves({ events: rollbackHistory().events });
    await record(new SfnExecutionHistory(client));

    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, { executionArn: execution.id, includeExecutionData: false });
    const states = (await json()).states;
    expect(states.map((state) => [state.name, state.status])).toEqual([
      ['LoadConfig', 'succeeded'],
      ['ValidateInput', 'succeeded'],
      ['RouteRequest', 'succeeded'],
      ['AcquireLock', 'succeeded'],
      ['RouteAction', 'succeeded'],
      ['Preflight', 'succeeded'],
      ['Deploy', 'succeeded'],
      ['SmokeTest', 'failed'],
      ['RollbackApp', 'succeeded'],
      ['VerifyRollback', 'succeeded'],
      ['RecordRollback', 'succeeded'],
    ]);
    // Each Task took 3 s from entered to exited; the running one (entered at 10:00:36) until the report was written (10:45).
    expect(states.find((state) => state.name === 'Preflight')?.ms).toBe(3000);
    expect(states.at(-1)?.ms).toBe(Date.parse('2025-03-04T10:45:00.000Z') - Date.parse('2025-03-04T10:00:00.000Z') - 36_000);
    const report = await markdown();
    const block = /## Path through the runbook\n\n.*\n\n```mermaid\n(flowchart TD\n[\s\S]*?)```/.exec(report);
    expect(block?.[1]).toBe(runbookFlowchart(definition, states));
    expect(block?.[1]).toMatch(/^ {2}class .*\bn_ValidateInput\b.* passed$/m);
    expect(block?.[1]).toMatch(/^ {2}class .*\bn_SmokeTest\b.* failed$/m);
    expect(block?.[1]).toMatch(/^ {2}class .*\bn_RollbackApp\b.*\bn_RecordRollback\b.* rollback$/m);
    expect(block?.[1]).toMatch(/^ {2}class .*\bn_RecordRelease\b.* idle$/m);
    expect(report).not.toContain('hunter2');
  });

  it('draws what it read when the history was read only in part, and says so', async () => {
    const events = rollbackHistory().events;
    sfn.on(GetExecutionHistoryCommand, { nextToken: undefined }).resolves({ events: events.slice(0, 12), nextToken: 'more' }).on(GetExecutionHistoryCommand, { nextToken: 'more' }).resolves({ events: events.slice(12, 20), nextToken: 'even-more' });
    await record(new SfnExecutionHistory(client, 2));

    expect(sfn).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 2);
    const report = await markdown();
    expect(report).toContain('The execution history was read only in part: the path is drawn as far as it goes');
    expect(report).toContain('```mermaid');
    expect((await json()).states.map((state) => state.name)).not.toContain('RollbackApp');
  });

  it('still writes the report and records the outcome when the history cannot be read, saying why by the error name alone', async () => {
    sfn.on(GetExecutionHistoryCommand).rejects(Object.assign(new Error('User arn:aws:sts::123456789012:assumed-role/x is not authorized; token=s3cr3t'), { name: 'AccessDeniedException' }));
    const outcome = await record(new SfnExecutionHistory(client));

    expect(outcome).toMatchObject({ result: 'rolled-back', reportKey: reportKeys('shop-api', deployment.id).json });
    const report = await markdown();
    expect(report).toContain('## Path through the runbook\n\nFlowchart unavailable: the execution history could not be read (AccessDeniedException).\n');
    expect(report).not.toContain('```mermaid');
    expect(report).not.toContain('s3cr3t');
    expect((await json()).states).toEqual([]);
  });

  it('names no error whose name is not a plain identifier, and says when the history holds no state yet', async () => {
    const failing: ExecutionHistory = { read: () => Promise.reject(Object.assign(new Error('x'), { name: 'token=s3cr3t value' })) };
    await record(failing);
    expect(await markdown()).toContain('Flowchart unavailable: the execution history could not be read (an unexpected error).');

    await record({ read: () => Promise.resolve({ events: [], complete: true }) });
    expect(await markdown()).toContain('Flowchart unavailable: the execution history holds no state yet.');
  });
});
