import { expect } from 'vitest';
import type { DrillRecord } from '../../core/model';

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
