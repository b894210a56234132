import { describe, expect, it } from 'vitest';
import { stateTimings } from '../../core/state-timings';
import { loadDefinition, type Json } from '../../statemachines/definition';
import { mermaidBlock, mermaidFlowchart, mermaidLabel, pathMarks, runbookFlowchart, runbookGraph } from '../../core/runbook-flowchart';
import { defaultWith, deployInput, runScripted, testConfig } from './harness';

const definition = loadDefinition();
const States = (definition as { States: Record<string, { Type: string }> }).States;
const names = Object.keys(States);

/** Each node id's class, from the `class a,b name` lines. */
function classesOf(source: string): Map<string, string> {
  const classes = new Map<string, string>();
  for (const [, ids, name] of source.matchAll(/^ {2}class (\S+) (\w+)$/gm)) for (const id of ids.split(',')) classes.set(id, name);
  return classes;
}

describe('runbookGraph of the real definition', () => {
  const graph = runbookGraph(definition);

  it('draws every state in exactly one node, and has a node for every id an edge names', () => {
    const drawn = graph.nodes.flatMap((node) => node.states);
    expect([...drawn].sort()).toEqual([...names].sort());
    expect(names.every((name) => graph.nodes.some((node) => node.id === graph.nodeOf.get(name)))).toBe(true);
    const ids = new Set(graph.nodes.map((node) => node.id));
    expect(graph.edges.every((edge) => ids.has(edge.from) && ids.has(edge.to))).toBe(true);
    expect(ids.has(graph.start)).toBe(true);
  });

  it('folds each polling loop (its Task, counter, Choice and Wait) into one node marked ↺', () => {
    const loops = graph.nodes.filter((node) => node.shape === 'loop');
    expect(loops.length).toBeGreaterThanOrEqual(5);
    for (const loop of loops) {
      expect(loop.label).toMatch(/ ↺$/);
      const types = loop.states.map((state) => States[state].Type);
      // The traffic steps of a lambda-alias target go round a loop of three Tasks: shift, smoke-test, evaluate.
      const tasks = loop.states.includes('ShiftTraffic') ? ['ShiftTraffic', 'SmokeTestStep', 'EvaluateStepAlarms'] : [loop.states[0]];
      expect(loop.states.filter((state) => States[state].Type === 'Task').sort()).toEqual(tasks.sort());
      expect(types).toContain('Wait');
      expect(types).toContain('Choice');
      expect(States[loop.states[0]].Type).toBe('Task');
    }
    // Every Wait of the runbook goes round a loop.
    for (const name of names.filter((state) => States[state].Type === 'Wait')) expect(loops.map((loop) => loop.id)).toContain(graph.nodeOf.get(name));
    const snapshot = graph.nodeOf.get('CheckSnapshot');
    expect(['StartSnapshotPoll', 'CountSnapshotPoll', 'SnapshotReady', 'WaitForSnapshot'].map((state) => graph.nodeOf.get(state))).toEqual(Array(4).fill(snapshot));
  });

  it('keeps a verdict Pass state (the turn to a rollback) as its own node, and folds bookkeeping ones', () => {
    expect(graph.verdicts.get('SmokeTestsFailed')).toBe('SmokeTestFailed');
    expect(graph.nodes.find((node) => node.id === graph.nodeOf.get('SmokeTestsFailed'))?.states).toEqual(['SmokeTestsFailed']);
    expect(graph.nodeOf.get('LoadConfig')).toBe(graph.nodeOf.get('ValidateInput'));
    expect(graph.nodes.length).toBeLessThan(names.length * 0.75);
  });

  it('gives every node an id Mermaid cannot read as a keyword or an edge', () => {
    for (const node of graph.nodes) expect(node.id).toMatch(/^n_[A-Za-z0-9_]+$/);
    expect(new Set(graph.nodes.map((node) => node.id)).size).toBe(graph.nodes.length);
  });
});

describe('the path an execution took', () => {
  it('colours a smoke-test failure: passed up to the check, the verdict failed, the rollback amber, the rest grey', async () => {
    const run = await runScripted({ config: testConfig(), input: deployInput(), tasks: { SmokeTest: defaultWith({ passed: false, summary: '1 of 5 checks failed' }) } });
    const graph = runbookGraph(definition);
    const source = runbookFlowchart(definition, stateTimings(run.events));
    const classes = classesOf(source);
    const of = (state: string) => classes.get(graph.nodeOf.get(state) as string);

    expect(source.startsWith('flowchart TD\n')).toBe(true);
    expect(source).toMatch(/^ {2}classDef passed /m);
    expect(source).toMatch(/^ {2}classDef failed /m);
    expect(source).toMatch(/^ {2}classDef rollback /m);
    expect(['ValidateInput', 'AcquireLock', 'Preflight', 'CheckSnapshot', 'Deploy', 'CheckDeployment', 'SmokeTest'].map(of)).toEqual(Array(7).fill('passed'));
    expect(of('SmokeTestsFailed')).toBe('failed');
    expect(['RollbackApp', 'CheckRollback', 'VerifyRollback', 'RecordRollback', 'RolledBack'].map(of)).toEqual(Array(5).fill('rollback'));
    expect(['EvaluateAlarms', 'RecordRelease', 'DeploymentSucceeded', 'RecordAbort'].map(of)).toEqual(Array(4).fill('idle'));
    // Every node gets exactly one class.
    expect(classes.size).toBe(graph.nodes.length);
  });

  it('marks a Task whose error a Catch took as failed, and the abort after it', () => {
    const graph = runbookGraph(definition);
    const marks = pathMarks(graph, [
      { name: 'LoadConfig', status: 'succeeded' },
      { name: 'ValidateInput', status: 'succeeded' },
      { name: 'AcquireLock', status: 'succeeded' },
      { name: 'RouteAction', status: 'succeeded' },
      { name: 'Preflight', status: 'failed' },
      { name: 'RecordAbort', status: 'succeeded' },
      { name: 'DeploymentAborted', status: 'failed' },
      { name: '(execution)', status: 'failed' },
    ]);
    expect(Object.fromEntries(marks)).toEqual({
      LoadConfig: 'passed',
      ValidateInput: 'passed',
      AcquireLock: 'passed',
      RouteAction: 'passed',
      Preflight: 'failed',
      RecordAbort: 'rollback',
      // A Fail state is where a handled failure ends, not where it happened.
      DeploymentAborted: 'rollback',
    });
    const classes = classesOf(mermaidFlowchart(graph, marks));
    expect(classes.get(graph.nodeOf.get('Preflight') as string)).toBe('failed');
  });

  it('is fenced for GitHub to render', () => {
    expect(mermaidBlock('flowchart TD\n  a\n')).toBe('```mermaid\nflowchart TD\n  a\n```');
  });
});

describe('names Mermaid could misread', () => {
  const hostile: Json = {
    StartAt: 'end',
    States: {
      end: { Type: 'Pass', Next: 'a b' },
      'a b': { Type: 'Task', Next: 'a_b', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'q"<x>&`#' }] },
      a_b: { Type: 'Task', Next: 'o' },
      o: { Type: 'Choice', Choices: [{ Next: 'x' }], Default: 'q"<x>&`#' },
      x: { Type: 'Succeed' },
      'q"<x>&`#': { Type: 'Fail' },
    },
  };

  it('writes safe, distinct ids and escaped labels', () => {
    const graph = runbookGraph(hostile);
    const ids = graph.nodes.map((node) => node.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^n_[A-Za-z0-9_]+$/);
    const source = mermaidFlowchart(graph, new Map());
    expect(source).toContain('["a b"]');
    expect(source).toContain('(["q#quot;#lt;x#gt;#amp;#96;#35;"])');
    expect(source).not.toContain('<x>');
  });

  it('shows control characters instead of sending them', () => {
    expect(mermaidLabel('a\u001b[31mb\u202ec\nd')).toBe('a\\x1b[31mb\\u202ec d');
  });
});
