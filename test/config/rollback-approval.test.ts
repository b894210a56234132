import { describe, expect, it } from 'vitest';
import { longestPath, timeoutProblem } from '../../config/budgets';
import { parseConfig } from '../../config/load';
import { exampleWith, minimalDraft, problemsOf } from './fixtures';

describe('rollbackApproval', () => {
  it('is not asked by default: an automatic rollback starts at once', () => {
    expect(parseConfig(minimalDraft()).rollbackApproval).toEqual({ required: false, timeoutMinutes: 30, onTimeout: 'rollback' });
  });

  it('fills a partial section field by field', () => {
    expect(parseConfig({ ...minimalDraft(), rollbackApproval: { required: true, onTimeout: 'keep' } }).rollbackApproval).toEqual({
      required: true,
      timeoutMinutes: 30,
      onTimeout: 'keep',
    });
  });

  it.each([
    [{ required: 'yes' }, 'rollbackApproval.required: Invalid input: expected boolean, received string (got "yes")'],
    [{ required: true, timeoutMinutes: 0 }, 'rollbackApproval.timeoutMinutes: Too small: expected number to be >=1 (got 0)'],
    [{ required: true, timeoutMinutes: 2.5 }, 'rollbackApproval.timeoutMinutes: Invalid input: expected int, received number (got 2.5)'],
    [{ required: true, timeoutMinutes: 10_081 }, 'rollbackApproval.timeoutMinutes: Too big: expected number to be <=10080 (got 10081)'],
    [{ required: true, onTimeout: 'ask-again' }, 'rollbackApproval.onTimeout: Invalid option: expected one of "rollback"|"keep" (got "ask-again")'],
    [{ required: true, approver: 'lead@example.com' }, 'rollbackApproval.approver: unknown field (got "lead@example.com")'],
  ])('fails when the section is %j, naming the field and the value', (section, problem) => {
    expect(problemsOf({ ...minimalDraft(), rollbackApproval: section })).toEqual([problem]);
  });

  it('counts the wait for a decision in the longest path, before the rollback, only when a person is asked', () => {
    const labels = (rollbackApproval: object) => longestPath(parseConfig({ ...minimalDraft(), rollbackApproval })).map((loop) => loop.label);

    expect(labels({ required: true, timeoutMinutes: 45 })).toEqual([
      'polling.deployment 15 s × 79 waits',
      'bake 10 × bake.pollSeconds 60 s',
      'rollbackApproval.timeoutMinutes 45 min',
      'polling.deployment 15 s × 79 waits again for the rollback',
    ]);
    expect(labels({ required: false, timeoutMinutes: 45 })).not.toContain('rollbackApproval.timeoutMinutes 45 min');
  });

  it('fails when the decision does not fit the execution timeout, naming the wait', () => {
    const problems = problemsOf(exampleWith((c) => (c.rollbackApproval = { required: true, timeoutMinutes: 120 })));

    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^executionTimeoutMinutes: the worst-case waits of the runbook add up to 368\.3 min \(.*rollbackApproval\.timeoutMinutes 120 min = 120 min, polling\.deployment 15 s × 79 waits again for the rollback/);
    expect(problems[0]).toMatch(/raise executionTimeoutMinutes to at least 369 or lower those settings \(got nothing\)$/);
    expect(timeoutProblem(parseConfig(exampleWith((c) => ((c.rollbackApproval = { required: true, timeoutMinutes: 120 }), (c.executionTimeoutMinutes = 370)))))).toBeNull();
  });
});
