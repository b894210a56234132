import { expect } from 'vitest';
import type { DrillRecord } from '../../core/model';
import { runbookBucket } from './dumps';
import type { EmulatedAws, Ended } from './emulated-aws';

/** The drills the runbook's ledger records, newest first (none before the first). */
export async function ledgerDrills(aws: EmulatedAws): Promise<DrillRecord[]> {
  return (await aws.artifact<{ drills?: DrillRecord[] }>('ledger/shop.json'))?.drills ?? [];
}

/** The Markdown evidence report an execution added to `reports/shop/` (exactly one): `before` lists the keys there before it. */
export async function addedReport(aws: EmulatedAws, before: readonly string[]): Promise<string> {
  const bucket = runbookBucket(aws);
  const added = (await bucket.keys('reports/shop/')).filter((key) => key.endsWith('.md') && !before.includes(key));
  expect(added).toHaveLength(1);
  return (await bucket.body(added[0])).toString();
}

/**
 * Runs `work` while `look` is called every 100 ms, for what exists only while it runs (a drill's scratch copy, between
 * AdvanceDrill and DiscardDrillCopy). `look` is given the ids already seen and returns what it sees besides; each
 * thing is kept as first seen.
 */
export async function whileWatching<T extends { readonly id: string }, R>(work: () => Promise<R>, look: (known: ReadonlySet<string>) => Promise<T[]>): Promise<{ result: R; seen: T[] }> {
  const seen = new Map<string, T>();
  let done = false;
  const watch = (async () => {
    while (!done) {
      for (const thing of await look(new Set(seen.keys()))) if (!seen.has(thing.id)) seen.set(thing.id, thing);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  try {
    const result = await work();
    return { result, seen: [...seen.values()] };
  } finally {
    done = true;
    await watch;
  }
}

/** A drill execution that passed: DrillSucceeded after the snapshot, the copy checked once it was restored, nothing deployed. */
export function expectDrillPassed(ended: Ended): void {
  expect([ended.status, ended.end], ended.cause ?? '').toEqual(['SUCCEEDED', 'DrillSucceeded']);
  expect(ended.states).toEqual(expect.arrayContaining(['TakeSnapshot', 'AdvanceDrill', 'VerifyDrillCopy', 'DiscardDrillCopy', 'RecordDrill']));
  expect(ended.states).not.toContain('Deploy');
  expect(ended.states.indexOf('VerifyDrillCopy')).toBeGreaterThan(ended.states.lastIndexOf('AdvanceDrill'));
}

/**
 * What a passed restore drill leaves: its record, newest in the ledger, naming the snapshot it restored; the report
 * the execution added says it passed and names it as when the backup was last proven restorable.
 */
export async function expectPassedDrillRecorded(aws: EmulatedAws, reportsBefore: readonly string[], snapshotId: string): Promise<void> {
  const [recorded] = await ledgerDrills(aws);
  expect(recorded).toMatchObject({ action: 'drill', passed: true, snapshotId });
  const report = await addedReport(aws, reportsBefore);
  expect(report).toContain("- This execution's drill passed:");
  expect(report).toContain(`- Backup last proven restorable: ${recorded.at} (backup ${snapshotId}`);
}

/**
 * What a failed restore drill leaves, whatever it drilled: one more drill in the ledger, newest first, failed and
 * naming the check; the execution's report says it FAILED and still names the last passed drill as the proof.
 */
export function expectFailedDrillRecorded(ledger: { before: readonly DrillRecord[]; after: readonly DrillRecord[] }, report: string, check: string): void {
  expect(ledger.after).toHaveLength(ledger.before.length + 1);
  expect(ledger.after[0]).toMatchObject({ action: 'drill', passed: false, summary: expect.stringContaining(check) });
  // A failed drill proves nothing: the report still names the last passed one.
  expect(report).toContain("- This execution's drill FAILED:");
  expect(report).toContain(`- Backup last proven restorable: ${ledger.before[0].at}`);
}
