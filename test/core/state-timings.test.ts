import { describe, expect, it } from 'vitest';
import type { StateEvent } from '../../core/state-event';
import { stateTimings } from '../../core/state-timings';

const event = (type: StateEvent['type'], state: string, stateType: string, at: number, error?: string): StateEvent => ({ type, state, stateType, at, ...(error ? { error } : {}) });

describe('stateTimings', () => {
  it('adds up the visits of a polling loop, in the order states were first entered', () => {
    const events = [
      event('entered', 'Deploy', 'Task', 0),
      event('exited', 'Deploy', 'Task', 100),
      event('entered', 'WaitForDeployment', 'Wait', 100),
      event('exited', 'WaitForDeployment', 'Wait', 600),
      event('entered', 'CheckDeployment', 'Task', 600),
      event('exited', 'CheckDeployment', 'Task', 650),
      event('entered', 'WaitForDeployment', 'Wait', 650),
      event('exited', 'WaitForDeployment', 'Wait', 1150),
      event('entered', 'CheckDeployment', 'Task', 1150),
      event('exited', 'CheckDeployment', 'Task', 1180),
      event('entered', 'DeploymentSucceeded', 'Succeed', 1180),
      event('exited', 'DeploymentSucceeded', 'Succeed', 1181),
    ];

    expect(stateTimings(events)).toEqual([
      { name: 'Deploy', status: 'succeeded', ms: 100 },
      { name: 'WaitForDeployment', status: 'succeeded', ms: 1000 },
      { name: 'CheckDeployment', status: 'succeeded', ms: 80 },
      { name: 'DeploymentSucceeded', status: 'succeeded', ms: 1 },
    ]);
  });

  it('marks a Task whose error a Catch took, and the Fail state the execution ended in, as failed', () => {
    const events = [
      event('entered', 'SmokeTest', 'Task', 0),
      event('failed', 'SmokeTest', 'Task', 40, 'SecretUnavailableError'),
      event('caught', 'SmokeTest', 'Task', 40),
      event('exited', 'SmokeTest', 'Task', 41),
      event('entered', 'RolledBack', 'Fail', 50),
      event('failed', 'RolledBack', 'Fail', 51, 'RolledBack'),
      event('failed', '(execution)', 'Execution', 51, 'RolledBack'),
    ];

    expect(stateTimings(events)).toEqual([
      { name: 'SmokeTest', status: 'failed', ms: 41 },
      { name: 'RolledBack', status: 'failed', ms: 1 },
    ]);
  });

  it('counts a Task that failed without a Catch up to its failure', () => {
    const events = [event('entered', 'Preflight', 'Task', 10), event('failed', 'Preflight', 'Task', 35, 'States.Timeout'), event('failed', '(execution)', 'Execution', 36, 'States.Timeout')];

    expect(stateTimings(events)).toEqual([{ name: 'Preflight', status: 'failed', ms: 25 }]);
  });
});
