import { describe, expect, it } from 'vitest';
import { PlanProgressView } from '../../cli/plan-progress';
import type { OutputStream } from '../../cli/io';

/** The headers a plan's child executions get, as `release --wait` prints them. */
function headerOf(input: Record<string, unknown>): string {
  let text = '';
  const out = { isTTY: false, write: (chunk: string) => ((text += chunk), true) } as unknown as OutputStream;
  new PlanProgressView(out, new Map()).childChanged('production', { stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:Runbook', name: 'plan-1-x', input }, null);
  return text;
}

describe("PlanProgressView: a child execution's header", () => {
  it.each([
    [{ version: 'v2' }, '▶ stage production: deploy v2 (plan-1-x)\n'],
    [{ action: 'check', checks: ['backfill complete'] }, "⧗ stage production: SQL checks 'backfill complete' (plan-1-x)\n"],
    [{ action: 'analyze', metrics: ['p95', 'errors'] }, "⧗ stage production: analysis of 'p95', 'errors' (plan-1-x)\n"],
    [{ action: 'analyze' }, '⧗ stage production: analysis of every deciding metric (plan-1-x)\n'],
    [{ action: 'rollback' }, '↩ stage production: rollback (plan-1-x)\n'],
  ])('%j → %s', (input, header) => {
    expect(headerOf(input)).toBe(header);
  });
});
