import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runScheduled } from '../../../../core/tasks/smoke-test/schedule';

/** Jobs finish only when the test says so; the log records what started and ended, in order. */
function controlledJobs(results: readonly boolean[]) {
  const log: string[] = [];
  const finishers = new Map<number, () => void>();
  const skipped: string[] = [];
  const run = (index: number) =>
    new Promise<boolean>((resolve) => {
      log.push(`start ${index}`);
      finishers.set(index, () => {
        log.push(`end ${index}`);
        resolve(results[index]);
      });
    });
  const finish = async (index: number) => {
    finishers.get(index)?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  const skip = (index: number, blocker: number, outcome: string) => skipped.push(`${index} after ${blocker} ${outcome}`);
  return { log, run, finish, skip, skipped, started: () => [...finishers.keys()] };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('runScheduled', () => {
  it('starts independent jobs up to the concurrency limit, then one per finished job', async () => {
    const jobs = controlledJobs([true, true, true, true]);
    const done = runScheduled({ dependsOn: [[], [], [], []], concurrency: 2, run: jobs.run, skip: jobs.skip });

    await tick();
    expect(jobs.started()).toEqual([0, 1]);
    await jobs.finish(1);
    expect(jobs.started()).toEqual([0, 1, 2]);
    await jobs.finish(0);
    await jobs.finish(2);
    await jobs.finish(3);

    await expect(done).resolves.toEqual(['passed', 'passed', 'passed', 'passed']);
    expect(jobs.log).toEqual(['start 0', 'start 1', 'end 1', 'start 2', 'end 0', 'start 3', 'end 2', 'end 3']);
  });

  it('starts a dependent only after its dependency passed, while independent jobs go ahead', async () => {
    const jobs = controlledJobs([true, true, true]);
    const done = runScheduled({ dependsOn: [[], [0], []], concurrency: 4, run: jobs.run, skip: jobs.skip });

    await tick();
    expect(jobs.started()).toEqual([0, 2]);
    await jobs.finish(0);
    expect(jobs.started()).toEqual([0, 2, 1]);
    await jobs.finish(1);
    await jobs.finish(2);

    await expect(done).resolves.toEqual(['passed', 'passed', 'passed']);
  });

  it('skips the dependents of a failed job, and theirs in turn, without running them', async () => {
    const jobs = controlledJobs([false, true, true, true]);
    const done = runScheduled({ dependsOn: [[], [0], [1], []], concurrency: 2, run: jobs.run, skip: jobs.skip });

    await tick();
    await jobs.finish(0);
    await jobs.finish(3);

    await expect(done).resolves.toEqual(['failed', 'skipped', 'skipped', 'passed']);
    expect(jobs.skipped).toEqual(['1 after 0 failed', '2 after 1 skipped']);
    expect(jobs.log).not.toContain('start 1');
    expect(jobs.log).not.toContain('start 2');
  });

  it('never runs more than the limit, runs every job whose dependencies passed, and skips the rest', async () => {
    const jobSpec = fc
      .array(fc.record({ passes: fc.boolean(), deps: fc.array(fc.nat(), { maxLength: 3 }) }), { minLength: 1, maxLength: 12 })
      .map((jobs) => jobs.map((job, index) => ({ passes: job.passes, deps: index === 0 ? [] : [...new Set(job.deps.map((d) => d % index))] })));
    await fc.assert(
      fc.asyncProperty(jobSpec, fc.integer({ min: 1, max: 4 }), async (jobs, concurrency) => {
        let inFlight = 0;
        let maxInFlight = 0;
        const ran: number[] = [];
        const outcomes = await runScheduled({
          dependsOn: jobs.map((job) => job.deps),
          concurrency,
          run: async (index) => {
            inFlight += 1;
            maxInFlight = Math.max(maxInFlight, inFlight);
            ran.push(index);
            await tick();
            inFlight -= 1;
            return jobs[index].passes;
          },
          skip: () => undefined,
        });
        const expected: string[] = [];
        jobs.forEach((job) => {
          const blocked = job.deps.some((dep) => expected[dep] !== 'passed');
          expected.push(blocked ? 'skipped' : job.passes ? 'passed' : 'failed');
        });
        expect(outcomes).toEqual(expected);
        expect(maxInFlight).toBeLessThanOrEqual(concurrency);
        expect(new Set(ran).size).toBe(ran.length);
      }),
    );
  });

  it('fails when a job depends on itself or a later job', async () => {
    await expect(runScheduled({ dependsOn: [[1], []], concurrency: 1, run: async () => true, skip: () => undefined })).rejects.toThrow(
      'job 0 depends on job 1: dependencies must be earlier jobs',
    );
  });

  it('fails when the concurrency is not a positive integer', async () => {
    await expect(runScheduled({ dependsOn: [[]], concurrency: 0, run: async () => true, skip: () => undefined })).rejects.toThrow(
      'concurrency must be a positive integer (got 0)',
    );
  });
});
