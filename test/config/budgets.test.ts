import { describe, expect, it } from 'vitest';
import { EVENTS_PER_BAKE_CHECK, EVENTS_PER_POLL, historyProblem, LOOP_EVENT_BUDGET, longestPath, timeoutProblem } from '../../config/budgets';
import { parseConfig } from '../../config/load';
import { loadDefinition } from '../../statemachines/definition';
import { exampleDraft, minimalDraft } from './fixtures';

type State = { Type: string; Next?: string; Default?: string };
const states = (loadDefinition() as { States: Record<string, State> }).States;

/** History events of one state: a Lambda Task writes entered, scheduled, started, succeeded and exited; any other state entered and exited. */
const eventsOf = (state: State) => (state.Type === 'Task' ? 5 : 2);

/** The events of one round of the loop through `wait`: from the Wait state along Next and Default until it comes back. */
function roundEvents(wait: string): number {
  let events = 0;
  let name = wait;
  do {
    const state = states[name];
    events += eventsOf(state);
    name = (state.Type === 'Choice' ? state.Default : state.Next) ?? '';
  } while (name !== wait);
  return events;
}

describe('budgets', () => {
  it.each(['WaitForSnapshot', 'WaitForDeployment', 'WaitForMigrations', 'WaitForRollback', 'WaitForRestore'])('counts the history events of one round of %s as the definition writes them', (wait) => {
    expect(roundEvents(wait)).toBe(EVENTS_PER_POLL);
  });

  it('counts the history events of one bake evaluation as the definition writes them', () => {
    expect(roundEvents('WaitDuringBake')).toBe(EVENTS_PER_BAKE_CHECK);
  });

  it('fits the defaults, with a database, migrations and a restore approval, inside the default timeout and the history', () => {
    const config = parseConfig({
      ...minimalDraft(),
      database: { kind: 'rds-instance', instanceIdentifier: 'shop-db', restoreApproval: { required: true } },
      migrations: { kind: 'hook', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:migrate' },
    });

    expect(longestPath(config).map((loop) => loop.label)).toEqual([
      'polling.snapshot 30 s × 119 waits',
      'polling.deployment 15 s × 79 waits',
      'polling.migrations 15 s × 119 waits',
      'bake 10 × bake.pollSeconds 60 s',
      'polling.deployment 15 s × 79 waits again for the rollback',
      'database.restoreApproval.timeoutMinutes 60 min',
      'polling.restore 30 s × 179 waits',
    ]);
    expect(longestPath(config).reduce((sum, loop) => sum + loop.seconds, 0)).toBe(17_295);
    expect(timeoutProblem(config)).toBeNull();
    expect(historyProblem(config)).toBeNull();
  });

  it('leaves out the loops a configuration never runs: no database, no migrations, a restore policy of never', () => {
    const labels = (draft: object) => longestPath(parseConfig(draft)).map((loop) => loop.label.split(' ')[0]);

    expect(labels(minimalDraft())).toEqual(['polling.deployment', 'bake', 'polling.deployment']);
    expect(labels({ ...exampleDraft(), database: { ...exampleDraft().database, restorePolicy: 'never' } })).toEqual([
      'polling.snapshot',
      'polling.deployment',
      'polling.migrations',
      'bake',
      'polling.deployment',
    ]);
  });

  it('keeps the loop budget under the history limit, with room for the rest of the path', () => {
    const straightLine = Object.values(states).reduce((sum, state) => sum + eventsOf(state), 0);
    expect(LOOP_EVENT_BUDGET + straightLine * 4).toBeLessThanOrEqual(25_000);
  });
});
