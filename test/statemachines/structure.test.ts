import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Deployment } from '../../core/model';
import { runbookDefinition } from '../../statemachines/runbook';
import {
  ACTIVITY_PLACEHOLDER,
  configSubstitutions,
  FUNCTION_PLACEHOLDERS,
  functionFolder,
  type Json,
  loadDefinition,
  placeholdersOf,
  substitute,
} from '../../statemachines/definition';
import { lambdaAliasConfig, testConfig } from './harness';
import type { RunbookConfig } from '../../config/schema';

type State = Record<string, any>;
type Definition = { StartAt: string; States: Record<string, State> };
type Validate = (definition: unknown, options?: { checkPaths: boolean; checkArn: boolean }) => { isValid: boolean; errorsText: (separator?: string) => string };

// asl-validator ships CommonJS without type declarations.
const validate = createRequire(import.meta.url)('asl-validator') as Validate;

const config = testConfig();
const LAMBDA_SERVICE_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];
/** The Task that waits for a person: on the stack's activity, so its timeout is the approval's, not a Lambda's. */
const APPROVAL_ACTIVITY = `\${${ACTIVITY_PLACEHOLDER}}`;
/** A Lambda runs 15 minutes at most: a longer Task timeout could never fire. */
const LAMBDA_MAX_SECONDS = 900;

/** The definition with the configuration's values filled in, the function ARN placeholders left as they are. */
function definition(filledWith: RunbookConfig = config): Definition {
  return substitute(loadDefinition(), configSubstitutions(filledWith)) as unknown as Definition;
}

/** A configuration that shifts traffic in steps: its plan fills the traffic loop's entry. */
const stepped = lambdaAliasConfig();

function filled(): Json {
  const arns = Object.fromEntries(
    FUNCTION_PLACEHOLDERS.map((p) => [p, `arn:aws:lambda:eu-west-1:123456789012:function:deploy-runbook-${functionFolder(p)}`]),
  );
  const activity = { [ACTIVITY_PLACEHOLDER]: 'arn:aws:states:eu-west-1:123456789012:activity:deploy-runbook-restore-approval' };
  return substitute(loadDefinition(), { ...configSubstitutions(config), ...arns, ...activity });
}

function tasksOf(def: Definition): [string, State][] {
  return Object.entries(def.States).filter(([, s]) => s.Type === 'Task');
}

/** Every state a state can hand over to: Next, Default, Choices and Catch targets. */
function successors(state: State): string[] {
  return [state.Next, state.Default, ...(state.Choices ?? []).map((c: State) => c.Next), ...(state.Catch ?? []).map((c: State) => c.Next)].filter(
    (s): s is string => typeof s === 'string',
  );
}

function timeoutProblems(def: Definition): string[] {
  return tasksOf(def).flatMap(([name, s]) => {
    if (typeof s.TimeoutSeconds === 'number') {
      const max = s.Resource === APPROVAL_ACTIVITY ? Infinity : LAMBDA_MAX_SECONDS;
      return s.TimeoutSeconds >= 1 && s.TimeoutSeconds <= max ? [] : [`${name}: TimeoutSeconds ${s.TimeoutSeconds} is out of range`];
    }
    const path = /^\$\.deployment\.([A-Za-z]+)$/.exec(s.TimeoutSecondsPath ?? '');
    return path && path[1] in Deployment.shape ? [] : [`${name}: no TimeoutSeconds, nor a TimeoutSecondsPath into $.deployment (got ${s.TimeoutSecondsPath})`];
  });
}

function retryProblems(def: Definition): string[] {
  // The approval activity calls no Lambda, and an answer (or its absence) is never retried.
  return tasksOf(def).filter(([, s]) => s.Resource !== APPROVAL_ACTIVITY).flatMap(([name, s]) => {
    const retry: State[] = s.Retry ?? [];
    const retrier = retry.find((r) => LAMBDA_SERVICE_ERRORS.every((e) => r.ErrorEquals.includes(e)));
    const problems: string[] = [];
    if (!retrier) problems.push(`${name}: no retrier covers ${LAMBDA_SERVICE_ERRORS.join(', ')}`);
    else {
      if (retrier.JitterStrategy !== 'FULL') problems.push(`${name}: JitterStrategy is ${retrier.JitterStrategy}, not FULL`);
      if (!(retrier.BackoffRate > 1)) problems.push(`${name}: BackoffRate ${retrier.BackoffRate} does not back off`);
      if (!(retrier.IntervalSeconds >= 1 && retrier.MaxAttempts >= 2)) problems.push(`${name}: IntervalSeconds ${retrier.IntervalSeconds} / MaxAttempts ${retrier.MaxAttempts}`);
    }
    // Retrying every error would redeploy after a failed rollout or re-run a failed migration.
    const all = retry.flatMap((r) => r.ErrorEquals).filter((e: string) => e === 'States.ALL' || e === 'States.TaskFailed');
    if (all.length > 0) problems.push(`${name}: retries ${all.join(', ')}`);
    return problems;
  });
}

function catchProblems(def: Definition): string[] {
  return tasksOf(def).flatMap(([name, s]) => {
    const catchers: State[] = s.Catch ?? [];
    const problems: string[] = [];
    if (JSON.stringify(catchers.at(-1)?.ErrorEquals) !== '["States.ALL"]') problems.push(`${name}: the last catcher is not States.ALL`);
    // Without a ResultPath the error would replace the whole execution state.
    for (const c of catchers) if (!(typeof c.ResultPath === 'string' && c.ResultPath.startsWith('$.'))) problems.push(`${name}: a catcher has ResultPath ${c.ResultPath}`);
    return problems;
  });
}

function reachabilityProblems(def: Definition): string[] {
  const problems: string[] = [];
  const seen = new Set([def.StartAt]);
  const queue = [def.StartAt];
  while (queue.length > 0) {
    const name = queue.shift()!;
    for (const to of successors(def.States[name])) {
      if (!(to in def.States)) problems.push(`${name}: goes to the unknown state ${to}`);
      else if (!seen.has(to)) {
        seen.add(to);
        queue.push(to);
      }
    }
  }
  return [...problems, ...Object.keys(def.States).filter((n) => !seen.has(n)).map((n) => `${n}: unreachable from ${def.StartAt}`)];
}

function transitionProblems(def: Definition): string[] {
  return Object.entries(def.States).flatMap(([name, s]) => {
    if (s.Type === 'Succeed' || s.Type === 'Fail') return [];
    if (s.Type === 'Choice') {
      const rules = (s.Choices ?? []) as State[];
      if (rules.length === 0 || rules.some((r) => typeof r.Next !== 'string')) return [`${name}: a choice rule has no Next`];
      return typeof s.Default === 'string' ? [] : [`${name}: Choice without Default`];
    }
    return typeof s.Next === 'string' && s.End === undefined ? [] : [`${name}: no Next`];
  });
}

/** Strongly connected components (Tarjan): the loops of the flow. */
function loops(def: Definition): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (name: string): void => {
    index.set(name, index.size);
    low.set(name, index.get(name)!);
    stack.push(name);
    onStack.add(name);
    for (const to of successors(def.States[name]).filter((t) => t in def.States)) {
      if (!index.has(to)) {
        visit(to);
        low.set(name, Math.min(low.get(name)!, low.get(to)!));
      } else if (onStack.has(to)) low.set(name, Math.min(low.get(name)!, index.get(to)!));
    }
    if (low.get(name) !== index.get(name)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== name);
    if (component.length > 1 || successors(def.States[name]).includes(name)) found.push(component);
  };
  for (const name of Object.keys(def.States)) if (!index.has(name)) visit(name);
  return found;
}

/** Reads a simple `$.a.b.c` path out of a value. */
function at(root: unknown, path: string): unknown {
  return path
    .slice(2)
    .split('.')
    .reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined), root);
}

/**
 * Every loop waits, exits on a counter compared with a configured limit, increments that counter inside
 * the loop, and is entered only through a state that resets it.
 */
function loopProblems(def: Definition): string[] {
  const problems: string[] = [];
  const found = loops(def);
  for (const [name, s] of Object.entries(def.States)) {
    if (s.Type === 'Wait' && !found.some((loop) => loop.includes(name))) problems.push(`${name}: a Wait outside any loop`);
  }
  const limits = { config, deployment: { bakeChecks: 3 }, traffic: { total: 3, bakeChecks: 2 } };
  for (const loop of found) {
    const label = loop.join(' ↺ ');
    if (!loop.some((n) => def.States[n].Type === 'Wait')) problems.push(`${label}: loops without waiting`);
    const exits = loop.flatMap((n) =>
      ((def.States[n].Choices ?? []) as State[])
        .filter((rule) => !loop.includes(rule.Next) && (typeof rule.NumericGreaterThanEqualsPath === 'string' || typeof rule.NumericGreaterThanEquals === 'number'))
        .map((rule) => ({ counter: rule.Variable as string, limit: (rule.NumericGreaterThanEqualsPath ?? rule.NumericGreaterThanEquals) as string | number })),
    );
    if (exits.length !== 1 || !['$.poll.attempts', '$.bake.checks', '$.traffic.given'].includes(exits[0].counter)) {
      problems.push(`${label}: no single counter exit ($.poll.attempts, $.bake.checks or $.traffic.given >= a limit)`);
      continue;
    }
    const [{ counter, limit }] = exits;
    // A limit is read from the state, or written in from the configuration at synth.
    if (typeof limit === 'string' ? typeof at(limits, limit) !== 'number' : !(limit >= 1)) problems.push(`${label}: the limit ${limit} is not a configured number`);
    const [slot, field] = [counter.split('.').slice(0, 2).join('.'), counter.split('.')[2]];
    const writers = loop.filter((n) => def.States[n].ResultPath === slot);
    const increments = slot === '$.poll' ? writers.filter((n) => def.States[n].Parameters?.['attempts.$'] === 'States.MathAdd($.poll.attempts, 1)') : writers;
    if (increments.length === 0) problems.push(`${label}: nothing in the loop increments ${counter}`);
    const entries = Object.keys(def.States).filter((n) => !loop.includes(n) && successors(def.States[n]).some((to) => loop.includes(to)));
    for (const entry of entries) {
      const s = def.States[entry];
      if (!(s.Type === 'Pass' && s.ResultPath === slot && s.Result?.[field] === 0)) problems.push(`${label}: entered from ${entry}, which does not reset ${counter}`);
    }
  }
  return problems;
}

/** Fail and Succeed states, each with its type. */
function terminalStates(def: Definition): Record<string, string> {
  return Object.fromEntries(
    Object.entries(def.States)
      .filter(([, s]) => s.Type === 'Succeed' || s.Type === 'Fail')
      .map(([name, s]) => [name, s.Type as string]),
  );
}

/** The terminal states the docs promise, from the "Terminal states" table of docs/architecture.md. */
function documentedTerminalStates(): Record<string, string> {
  const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const section = doc.split('### Terminal states')[1]?.split(/\n#{2,3} /)[0] ?? '';
  return Object.fromEntries([...section.matchAll(/^\| `([A-Za-z]+)` \| (Succeed|Fail) \|/gm)].map((m) => [m[1], m[2]]));
}

describe('the runbook definition', () => {
  it('validates with asl-validator once every placeholder is filled', () => {
    const filledIn = filled();
    expect(JSON.stringify(filledIn)).not.toContain('${');
    // asl-validator writes QueryLanguage into the states it checks.
    const result = validate(structuredClone(filledIn), { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('uses only configuration and function ARN placeholders, and every function placeholder', () => {
    const known = [...Object.keys(configSubstitutions(config)), ...FUNCTION_PLACEHOLDERS, ACTIVITY_PLACEHOLDER];
    const used = placeholdersOf(loadDefinition());
    expect(used.filter((p) => !known.includes(p))).toEqual([]);
    expect([...FUNCTION_PLACEHOLDERS, ACTIVITY_PLACEHOLDER].filter((p) => !used.includes(p))).toEqual([]);
  });

  it('runs every Task on a deploy-runbook function, except the approval, which waits on the stack\'s activity', () => {
    const arns = FUNCTION_PLACEHOLDERS.map((p) => `\${${p}}`);
    const [functions, activities] = [tasksOf(definition()).filter(([, s]) => s.Resource !== APPROVAL_ACTIVITY), tasksOf(definition()).filter(([, s]) => s.Resource === APPROVAL_ACTIVITY)];
    for (const [name, s] of functions) expect(arns, name).toContain(s.Resource);
    expect(activities.map(([name]) => name)).toEqual(['AwaitRollbackApproval', 'AwaitRestoreApproval']);
    expect(activities[1][1]).toMatchObject({
      Parameters: { kind: 'restore-approval', 'execution.$': '$$.Execution.Id', target: config.name, 'snapshot.$': '$.snapshot.id' },
      ResultPath: '$.approval',
      TimeoutSeconds: config.database!.restoreApproval.timeoutMinutes * 60,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.approvalError', Next: 'RestoreNotApproved' }],
    });
    // The person is asked first, by a notification; nobody asked means no restore.
    expect(definition().States.RequestRestoreApproval).toMatchObject({ Resource: '${NotifyFunctionArn}', Parameters: { event: 'approval-requested' }, Next: 'AwaitRestoreApproval' });
  });

  // Issue 12, item 4: the rollback approval waits on the same activity (one queue, one CLI, one grant), its own timeout.
  it('asks before the automatic rollback on the same activity, every way out of the wait leading to a rollback or a kept release', () => {
    const states = definition().States;
    expect(states.AwaitRollbackApproval).toMatchObject({
      Resource: APPROVAL_ACTIVITY,
      Parameters: {
        kind: 'rollback-approval',
        'execution.$': '$$.Execution.Id',
        target: config.name,
        'version.$': '$.release.version',
        'rollbackTo.$': '$.rollbackTo.version',
        'reason.$': '$.error.Error',
      },
      ResultPath: '$.rollbackApproval',
      TimeoutSeconds: config.rollbackApproval.timeoutMinutes * 60,
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackApprovalError', Next: 'RollbackApprovalUnanswered' }],
      Next: 'RollbackApprovalDecision',
    });
    expect(states.AwaitRollbackApproval).not.toHaveProperty('Retry');
    expect(states.RequestRollbackApproval).toMatchObject({
      Resource: '${NotifyFunctionArn}',
      Parameters: { event: 'rollback-approval-requested' },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackApprovalError', Next: 'RollbackApprovalUnanswered' }],
      Next: 'AwaitRollbackApproval',
    });
    expect(states.RollbackApprovalDecision).toMatchObject({ Choices: [{ Variable: '$.rollbackApproval.approved', BooleanEquals: true, Next: 'RollbackApp' }], Default: 'RecordKept' });
    expect(states.RollbackApprovalUnanswered).toMatchObject({ Choices: [{ Variable: '$.config.rollbackApproval.onTimeout', StringEquals: 'keep', Next: 'RecordKept' }], Default: 'RollbackApp' });
    expect(['RecordKept', 'KeptUnrecorded', 'ReleaseLockAfterKeep', 'NotifyKept'].map((name) => states[name].Next)).toEqual(['ReleaseLockAfterKeep', 'ReleaseLockAfterKeep', 'NotifyKept', 'ReleaseKept']);
  });

  it('asks only for failures of a release that runs everywhere: the rollout, the migrations and the traffic shift roll back at once', () => {
    const states = definition().States as Record<string, { Catch?: { Next: string }[]; Next?: string; Type: string }>;
    const gated = (name: string) => (states[name].Catch?.map((c) => c.Next) ?? [states[name].Next]).includes('RollbackApprovalNeeded');
    expect(['AfterMigrationChecks', 'DataGateFailed', 'SmokeTest', 'SmokeTestsFailed', 'SmokeTestStep', 'EvaluateAlarms', 'EvaluateStepAlarms', 'AlarmFired', 'PrepareAlarmRollback'].filter((name) => !gated(name))).toEqual([]);
    expect(['Deploy', 'CheckDeployment', 'DeploymentTimedOut', 'StartMigrations', 'CheckMigrations', 'MigrationsTimedOut', 'ShiftTraffic', 'RecordRelease'].filter(gated)).toEqual([]);
  });

  // Issue 9, item 13: a Task's Parameters are written to its TaskScheduled event and, at level ALL with execution
  // data, to the execution log; a callback token there lets anyone who reads the logs approve a restore.
  it('never reads the task token: no state, Parameters or intrinsic anywhere in the definition mentions $$.Task.Token or waitForTaskToken', () => {
    const text = JSON.stringify(loadDefinition());
    expect(text).not.toContain('Task.Token');
    expect(text).not.toContain('waitForTaskToken');
    expect(JSON.stringify(runbookDefinition())).toBe(JSON.stringify(loadDefinition()));
  });

  it('gives every Task a timeout', () => {
    expect(timeoutProblems(definition())).toEqual([]);
  });

  it('retries Lambda service errors and throttling on every Task with backoff and full jitter, and never every error', () => {
    expect(retryProblems(definition())).toEqual([]);
  });

  it('catches States.ALL last on every Task, into a slot, so the execution state survives the error', () => {
    expect(catchProblems(definition())).toEqual([]);
  });

  it('reaches every state from StartAt, and names only existing states', () => {
    expect(reachabilityProblems(definition())).toEqual([]);
  });

  it('gives every non-terminal state a way on, and every Choice a Default', () => {
    expect(transitionProblems(definition())).toEqual([]);
  });

  it('puts every Wait in a loop that exits on a counter it increments and its entry resets', () => {
    const def = definition(stepped);
    expect(loopProblems(def)).toEqual([]);
    expect(loops(def).length).toBe(Object.values(def.States).filter((s) => s.Type === 'Wait').length);
  });

  it('ends only in the terminal states docs/architecture.md lists, each Fail reporting its own name', () => {
    const def = definition();
    expect(terminalStates(def)).toEqual(documentedTerminalStates());
    for (const [name, type] of Object.entries(terminalStates(def))) if (type === 'Fail') expect(def.States[name].Error).toBe(name);
  });

  it('reads only slots that LoadConfig creates or a state writes', () => {
    const { States } = definition();
    // These name where a state writes its own result, not what it reads.
    const WRITES = ['ResultPath', 'OutputPath'];
    const created = Object.keys(States.LoadConfig.Parameters).map((k) => k.replace(/\.\$$/, ''));
    const written = Object.values(States).flatMap((s) => [s.ResultPath, ...(s.Catch ?? []).map((c: State) => c.ResultPath)]);
    const slots = new Set([...created, ...written.filter((p): p is string => typeof p === 'string').map((p) => p.split('.')[1])]);
    const reads: string[] = [];
    const collect = (value: unknown, key = ''): void => {
      if (typeof value === 'string') {
        if (key.endsWith('.$') || (/Path$|^Variable$/.test(key) && !WRITES.includes(key))) reads.push(...(value.match(/(?<!\$)\$\.[A-Za-z]+/g) ?? []));
      } else if (Array.isArray(value)) value.forEach((v) => collect(v, key));
      else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collect(v, k);
    };
    for (const [name, s] of Object.entries(States)) if (name !== 'LoadConfig') collect(s);
    expect(reads.length).toBeGreaterThan(50);
    expect([...new Set(reads.map((r) => r.slice(2)))].filter((slot) => !slots.has(slot))).toEqual([]);
  });
});

/** The checks above, run on broken copies of the definition: each must name the fault. */
describe('the structure checks', () => {
  const broken = (change: (def: Definition) => void): Definition => {
    const def = definition(stepped);
    change(def);
    return def;
  };

  it('fails when a Task has no timeout', () => {
    expect(timeoutProblems(broken((d) => delete d.States.Deploy.TimeoutSeconds))).toEqual([
      'Deploy: no TimeoutSeconds, nor a TimeoutSecondsPath into $.deployment (got undefined)',
    ]);
  });

  it('fails when a Lambda Task timeout exceeds what a Lambda can run', () => {
    expect(timeoutProblems(broken((d) => (d.States.SmokeTest.TimeoutSeconds = 3600)))).toEqual(['SmokeTest: TimeoutSeconds 3600 is out of range']);
  });

  it('fails when throttling is not retried', () => {
    const def = broken((d) => (d.States.CheckSnapshot.Retry[0].ErrorEquals = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException']));
    expect(retryProblems(def)).toEqual([`CheckSnapshot: no retrier covers ${LAMBDA_SERVICE_ERRORS.join(', ')}`]);
  });

  it('fails when the jitter is not FULL or a Task retries every error', () => {
    const def = broken((d) => {
      delete d.States.Preflight.Retry[0].JitterStrategy;
      d.States.Deploy.Retry.push({ ErrorEquals: ['States.ALL'], MaxAttempts: 2 });
    });
    expect(retryProblems(def)).toEqual(['Preflight: JitterStrategy is undefined, not FULL', 'Deploy: retries States.ALL']);
  });

  it('fails when a Catch misses States.ALL or drops the execution state', () => {
    const def = broken((d) => {
      d.States.SmokeTest.Catch = [{ ErrorEquals: ['DeploymentFailedError'], ResultPath: '$.error', Next: 'RollbackApp' }];
      delete d.States.Deploy.Catch[0].ResultPath;
    });
    expect(catchProblems(def)).toEqual(['Deploy: a catcher has ResultPath undefined', 'SmokeTest: the last catcher is not States.ALL']);
  });

  it('fails when a state is unreachable or a transition names no state', () => {
    const def = broken((d) => {
      d.States.Orphan = { Type: 'Succeed' };
      d.States.NotifySucceeded.Next = 'Done';
    });
    expect(reachabilityProblems(def)).toEqual(['NotifySucceeded: goes to the unknown state Done', 'Orphan: unreachable from LoadConfig']);
  });

  it('fails when a Choice has no Default or a state has no Next', () => {
    const def = broken((d) => {
      delete d.States.SnapshotReady.Default;
      delete d.States.RememberRunningVersion.Next;
    });
    expect(transitionProblems(def)).toEqual(['RememberRunningVersion: no Next', 'SnapshotReady: Choice without Default']);
  });

  it('fails when a polling loop has no counter exit', () => {
    const def = broken((d) => d.States.SnapshotReady.Choices.pop());
    expect(loopProblems(def)).toEqual(['WaitForSnapshot ↺ SnapshotReady ↺ CountSnapshotPoll ↺ CheckSnapshot: no single counter exit ($.poll.attempts, $.bake.checks or $.traffic.given >= a limit)']);
  });

  it('fails when a loop is entered without resetting its counter or never counts', () => {
    const def = broken((d) => {
      d.States.TakeSnapshot.Next = 'WaitForSnapshot';
      d.States.CountDeploymentPoll.Parameters = { 'attempts.$': '$.poll.attempts' };
    });
    expect(loopProblems(def).sort()).toEqual([
      'SnapshotReady ↺ CountSnapshotPoll ↺ CheckSnapshot ↺ WaitForSnapshot: entered from TakeSnapshot, which does not reset $.poll.attempts',
      'WaitForDeployment ↺ DeploymentReady ↺ CountDeploymentPoll ↺ CheckDeployment: nothing in the loop increments $.poll.attempts',
    ]);
  });

  it('fails when a Fail state is missing from the documented terminal states', () => {
    const def = broken((d) => (d.States.Timeout = { Type: 'Fail', Error: 'Timeout' }));
    expect(terminalStates(def)).not.toEqual(documentedTerminalStates());
  });
});
