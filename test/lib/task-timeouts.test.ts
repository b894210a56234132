import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stateTimeouts } from '../../lib/task-timeouts';
import { FUNCTION_PLACEHOLDERS, type Json } from '../../statemachines/definition';

function task(resource: string, timeoutSeconds?: number, parameters?: Json): Json {
  return { Type: 'Task', Resource: resource, ...(timeoutSeconds === undefined ? {} : { TimeoutSeconds: timeoutSeconds }), ...(parameters ? { Parameters: parameters } : {}), End: true };
}

const seconds = (definition: Json) => Object.fromEntries([...stateTimeouts(definition)].map(([p, d]) => [p, d.toSeconds()]));

describe('stateTimeouts', () => {
  it('takes the longest TimeoutSeconds of the Task states calling each function', () => {
    const definition = {
      StartAt: 'A',
      States: {
        Deploy: task('${DeployTargetFunctionArn}', 300),
        CheckDeployment: task('${DeployTargetFunctionArn}', 60),
        Notify: task('${NotifyFunctionArn}', 30),
      },
    };
    expect(seconds(definition)).toEqual({ DeployTargetFunctionArn: 300, NotifyFunctionArn: 30 });
  });

  it('finds Task states inside Parallel branches and reads FunctionName of a lambda:invoke integration', () => {
    const definition = {
      StartAt: 'P',
      States: {
        P: {
          Type: 'Parallel',
          Branches: [{ StartAt: 'L', States: { L: task('${LedgerFunctionArn}', 45) } }],
          End: true,
        },
        Approve: task('arn:aws:states:::lambda:invoke', 90, { FunctionName: '${NotifyFunctionArn}', Payload: {} }),
      },
    };
    expect(seconds(definition)).toEqual({ LedgerFunctionArn: 45, NotifyFunctionArn: 90 });
  });

  it('ignores Tasks without a fixed timeout, unknown placeholders and placeholders inside longer strings', () => {
    const definition = {
      StartAt: 'A',
      States: {
        A: task('arn:aws:states:::lambda:invoke.waitForTaskToken', undefined, { FunctionName: '${NotifyFunctionArn}' }),
        B: task('${SomethingElseArn}', 30),
        C: task('prefix-${LedgerFunctionArn}', 30),
        D: { Type: 'Pass', Parameters: { Type: 'Task', Resource: '${PreflightFunctionArn}', TimeoutSeconds: 30 }, End: true },
      },
    };
    expect(seconds(definition)).toEqual({});
  });

  it('returns the maximum for any set of states sharing a function', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ placeholder: fc.constantFrom(...FUNCTION_PLACEHOLDERS), timeout: fc.integer({ min: 1, max: 3600 }) }), { minLength: 1, maxLength: 30 }),
        (tasks) => {
          const states = Object.fromEntries(tasks.map((t, i) => [`S${i}`, task(`\${${t.placeholder}}`, t.timeout)]));
          const expected: Record<string, number> = {};
          for (const t of tasks) expected[t.placeholder] = Math.max(expected[t.placeholder] ?? 0, t.timeout);
          expect(seconds({ StartAt: 'S0', States: states })).toEqual(expected);
        },
      ),
    );
  });
});
