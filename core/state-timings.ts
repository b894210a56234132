import type { StateTiming } from './tasks/ledger/evidence-report';
import type { StateEvent } from './state-event';

interface Tally {
  readonly name: string;
  ms: number;
  failed: boolean;
  enteredAt: number | null;
  failedAt: number | null;
}

/**
 * Every state the execution entered, in order of first entry, with the time spent in it over all its
 * visits (a polling loop's Task is one entry). `failed` marks a Fail state, a Task whose error a Catch
 * took, and a state the execution failed in.
 */
export function stateTimings(events: readonly StateEvent[]): StateTiming[] {
  const tallies = new Map<string, Tally>();
  for (const event of events) {
    if (event.state === '(execution)') continue;
    let tally = tallies.get(event.state);
    if (event.type === 'entered') {
      if (!tally) {
        tally = { name: event.state, ms: 0, failed: false, enteredAt: null, failedAt: null };
        tallies.set(event.state, tally);
      }
      tally.enteredAt = event.at;
      tally.failedAt = null;
      continue;
    }
    if (!tally || tally.enteredAt === null) continue;
    if (event.type === 'failed') {
      tally.failedAt = event.at;
      if (event.stateType === 'Fail') tally.failed = true;
    } else if (event.type === 'caught') {
      tally.failed = true;
    } else if (event.type === 'exited') {
      tally.ms += event.at - tally.enteredAt;
      tally.enteredAt = null;
    }
  }
  return [...tallies.values()].map((tally) => {
    // A visit that never exited ended where it failed: a Fail state, or an error nothing caught.
    const open = tally.enteredAt === null ? 0 : (tally.failedAt ?? tally.enteredAt) - tally.enteredAt;
    const failed = tally.failed || tally.enteredAt !== null;
    return { name: tally.name, status: failed ? 'failed' : 'succeeded', ms: Math.max(0, tally.ms + open) };
  });
}
