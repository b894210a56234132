import { GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HISTORY_MAX_PAGES, SfnExecutionHistory } from '../../../adapters/aws/sfn-execution-history';
import { SfnHistoryBuilder } from '../../support/sfn-history';

const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:shop-api-runbook:deploy-v1-4-2';
const client = new SFNClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' } });
const sfn = mockClient(client);

beforeEach(() => sfn.reset());

describe('SfnExecutionHistory', () => {
  it('reads the history oldest first, 1000 events a page and without execution data, into state events', async () => {
    const history = new SfnHistoryBuilder().started().pass('Pass', 'LoadConfig').task('ValidateInput').caught('Deploy', 'DeploymentFailed').running('RollbackApp');
    sfn.on(GetExecutionHistoryCommand).resolves({ events: history.events });
    const read = await new SfnExecutionHistory(client).read(EXECUTION);

    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((call) => call.args[0].input)).toEqual([
      { executionArn: EXECUTION, maxResults: 1000, includeExecutionData: false, nextToken: undefined },
    ]);
    expect(read.complete).toBe(true);
    expect(read.events.map((event) => [event.type, event.state, event.error ?? null])).toEqual([
      ['entered', 'LoadConfig', null],
      ['exited', 'LoadConfig', null],
      ['entered', 'ValidateInput', null],
      ['exited', 'ValidateInput', null],
      ['entered', 'Deploy', null],
      ['failed', 'Deploy', 'DeploymentFailed'],
      ['caught', 'Deploy', null],
      ['exited', 'Deploy', null],
      ['entered', 'RollbackApp', null],
    ]);
  });

  it('follows nextToken page after page and returns the events of every page in order', async () => {
    const history = new SfnHistoryBuilder().started().task('ValidateInput').task('AcquireLock').task('Preflight').events;
    sfn
      .on(GetExecutionHistoryCommand, { nextToken: undefined })
      .resolves({ events: history.slice(0, 5), nextToken: 'page-2' })
      .on(GetExecutionHistoryCommand, { nextToken: 'page-2' })
      .resolves({ events: history.slice(5, 9), nextToken: 'page-3' })
      .on(GetExecutionHistoryCommand, { nextToken: 'page-3' })
      .resolves({ events: history.slice(9) });
    const read = await new SfnExecutionHistory(client).read(EXECUTION);

    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((call) => call.args[0].input.nextToken)).toEqual([undefined, 'page-2', 'page-3']);
    expect(read.complete).toBe(true);
    expect(read.events.filter((event) => event.type === 'exited').map((event) => event.state)).toEqual(['ValidateInput', 'AcquireLock', 'Preflight']);
  });

  it('stops after its bound of pages and says the history was read in part', async () => {
    let page = 0;
    sfn.on(GetExecutionHistoryCommand).callsFake(() => {
      page += 1;
      return { events: new SfnHistoryBuilder().task(`State${page}`).events, nextToken: `after-${page}` };
    });
    const read = await new SfnExecutionHistory(client, 3).read(EXECUTION);

    expect(sfn).toHaveReceivedCommandTimes(GetExecutionHistoryCommand, 3);
    expect(read.complete).toBe(false);
    expect(read.events.filter((event) => event.type === 'entered').map((event) => event.state)).toEqual(['State1', 'State2', 'State3']);
    expect(HISTORY_MAX_PAGES).toBe(10);
  });

  it('fails with the Step Functions error when the history cannot be read', async () => {
    sfn.on(GetExecutionHistoryCommand).rejects(Object.assign(new Error('User is not authorized to perform: states:GetExecutionHistory'), { name: 'AccessDeniedException' }));
    await expect(new SfnExecutionHistory(client).read(EXECUTION)).rejects.toThrow('states:GetExecutionHistory');
  });
});
