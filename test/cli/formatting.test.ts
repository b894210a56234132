import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../cli/duration';
import { executionName } from '../../cli/execution-name';
import { exitCodeFor, rehearsalExitCode } from '../../cli/exit-codes';
import { outcomeOf } from '../../core/execution-outcome';

describe('executionName', () => {
  it('is the version and a UTC timestamp', () => {
    expect(executionName('v1.4.2', new Date('2025-01-02T03:04:05.678Z'))).toBe('v1.4.2-20250102T030405Z');
  });

  it('is always a valid Step Functions execution name (1-80 allowed characters) ending in the timestamp', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 200 }), fc.date({ min: new Date('2000-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }), (version, at) => {
        const name = executionName(version, at);
        expect(name.length).toBeLessThanOrEqual(80);
        expect(name).toMatch(/^[A-Za-z0-9._+-]+$/);
        expect(name.endsWith(`-${at.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`)).toBe(true);
      }),
    );
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0ms'],
    [76, '76ms'],
    [412, '412ms'],
    [999, '999ms'],
    [1000, '1.0s'],
    [41_299, '41.2s'],
    [59_999, '59.9s'],
    [60_000, '1m00s'],
    [362_000, '6m02s'],
    [3_599_999, '59m59s'],
    [3_900_000, '1h05m'],
    [-5, '0ms'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('exit codes', () => {
  it.each([
    ['SUCCEEDED', undefined, 'succeeded', 0],
    ['FAILED', 'RolledBack', 'rolled-back', 2],
    ['FAILED', 'RollbackFailed', 'failed', 1],
    ['FAILED', 'DeploymentAborted', 'failed', 1],
    ['FAILED', 'InvalidInput', 'failed', 1],
    ['FAILED', 'DeploymentInProgress', 'failed', 1],
    ['TIMED_OUT', 'States.Timeout', 'failed', 1],
    ['ABORTED', undefined, 'failed', 1],
    ['RUNNING', undefined, null, 3],
  ])('maps %s %s to %s and exit %i', (status, error, outcome, code) => {
    expect(outcomeOf(status, error)).toBe(outcome);
    expect(exitCodeFor(outcomeOf(status, error))).toBe(code);
  });

  it.each([
    ['succeeded', 0],
    ['rolled-back', 2],
    ['failed', 1],
  ] as const)('exits a rehearsal that ended %s and whose checks hold as the deployment would: %i', (outcome, code) => {
    expect(rehearsalExitCode(outcome, true)).toBe(code);
  });

  it.each(['succeeded', 'rolled-back', 'failed'] as const)('exits 4 from a rehearsal that ended %s when its checks of the machine do not hold', (outcome) => {
    expect(rehearsalExitCode(outcome, false)).toBe(4);
  });
});
