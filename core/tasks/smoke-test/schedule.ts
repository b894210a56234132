/**
 * Runs jobs that may depend on earlier jobs: a job starts once every job it depends on succeeded, at
 * most `concurrency` run at once, and a job whose dependency failed or was skipped is skipped itself.
 */

/** How a job ended, as the scheduler sees it. */
export type JobOutcome = 'passed' | 'failed' | 'skipped';

export interface ScheduleOptions {
  /** For each job, the indexes of the jobs it depends on; always lower than its own (config order). */
  readonly dependsOn: readonly (readonly number[])[];
  readonly concurrency: number;
  /** Runs job `index`; resolves true when it passed. Must not reject. */
  readonly run: (index: number) => Promise<boolean>;
  /** Called instead of `run` for a job whose dependency `blocker` did not pass. */
  readonly skip: (index: number, blocker: number, blockerOutcome: Exclude<JobOutcome, 'passed'>) => void;
}

/** Resolves with each job's outcome, in job order, once every job has run or been skipped. */
export async function runScheduled(options: ScheduleOptions): Promise<JobOutcome[]> {
  const { dependsOn, concurrency, run, skip } = options;
  dependsOn.forEach((deps, index) => {
    const bad = deps.find((dep) => dep >= index || dep < 0);
    if (bad !== undefined) throw new RangeError(`job ${index} depends on job ${bad}: dependencies must be earlier jobs`);
  });
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer (got ${concurrency})`);

  const outcomes: (JobOutcome | undefined)[] = dependsOn.map(() => undefined);
  const started = new Set<number>();
  const running = new Map<number, Promise<void>>();

  for (;;) {
    // Dependencies point backwards, so one forward pass settles chains of skips.
    for (let index = 0; index < dependsOn.length; index++) {
      if (started.has(index)) continue;
      const blocker = dependsOn[index].find((dep) => outcomes[dep] === 'failed' || outcomes[dep] === 'skipped');
      if (blocker !== undefined) {
        started.add(index);
        outcomes[index] = 'skipped';
        skip(index, blocker, outcomes[blocker] as Exclude<JobOutcome, 'passed'>);
      } else if (running.size < concurrency && dependsOn[index].every((dep) => outcomes[dep] === 'passed')) {
        started.add(index);
        running.set(
          index,
          run(index).then((passed) => {
            outcomes[index] = passed ? 'passed' : 'failed';
            running.delete(index);
          }),
        );
      }
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  return outcomes as JobOutcome[];
}
