import { terminalText } from './untrusted-text';
import type { Json } from './json';

/**
 * The runbook as a Mermaid flowchart people can read, drawn from the state machine definition itself, with
 * the path one execution took coloured in. Ninety states would be a wall: each polling loop (Task, counter,
 * Choice, Wait going round) is drawn as one node marked ↺, and a bookkeeping Pass state (one that sets a
 * counter or a slot and records no Error) is drawn inside the node it leads to. Verdict Pass states (those
 * that record an Error, such as SmokeTestsFailed) keep their own node: they are where a path turns to a rollback.
 */

interface AslState {
  readonly Type?: string;
  readonly Next?: string;
  readonly Default?: string;
  readonly Choices?: readonly { readonly Next?: string }[];
  readonly Catch?: readonly { readonly Next?: string }[];
  readonly Parameters?: { readonly Error?: unknown };
}

/** How a node is drawn: a box, a rhombus for a branch, a box marked ↺ for a loop, a stadium for an end. */
export type NodeShape = 'step' | 'branch' | 'loop' | 'end';

export interface FlowNode {
  /** Safe as a Mermaid id whatever the state names are. */
  readonly id: string;
  readonly label: string;
  readonly shape: NodeShape;
  /** The states drawn as this node, the named one first. */
  readonly states: readonly string[];
}

export interface FlowEdge {
  readonly from: string;
  readonly to: string;
  /** `catch`: taken when a Task fails (drawn dotted); `next`: Next, a Choice rule or its Default. */
  readonly kind: 'next' | 'catch';
}

export interface RunbookGraph {
  readonly start: string;
  readonly nodes: readonly FlowNode[];
  readonly edges: readonly FlowEdge[];
  /** The node id each state is drawn in. */
  readonly nodeOf: ReadonlyMap<string, string>;
  /** Each state's ASL type. */
  readonly types: ReadonlyMap<string, string>;
  /** Pass states that record a failure, with the Error they record. */
  readonly verdicts: ReadonlyMap<string, string>;
}

/** Every transition of a state: Next, each Choice rule and the Default, and each Catch. */
export function transitionsOf(state: AslState): { to: string; kind: FlowEdge['kind'] }[] {
  const next = [state.Next, ...(state.Choices ?? []).map((rule) => rule.Next), state.Default].filter((to): to is string => typeof to === 'string');
  const caught = (state.Catch ?? []).map((rule) => rule.Next).filter((to): to is string => typeof to === 'string');
  return [...next.map((to) => ({ to, kind: 'next' as const })), ...caught.map((to) => ({ to, kind: 'catch' as const }))];
}

/** The folded graph of a definition (see the module comment). */
export function runbookGraph(definition: Json): RunbookGraph {
  const { StartAt, States } = definition as unknown as { StartAt: string; States: Record<string, AslState> };
  const names = Object.keys(States);
  const successors = new Map(names.map((name) => [name, [...new Set(transitionsOf(States[name]).map((t) => t.to))]]));
  const verdicts = new Map<string, string>();
  for (const name of names) {
    const error = States[name].Parameters?.Error;
    if (States[name].Type === 'Pass' && typeof error === 'string') verdicts.set(name, error);
  }

  // Polling loops: every cycle of the definition is one, and its states are drawn as one node.
  const loopOf = new Map<string, string[]>();
  for (const component of stronglyConnected(names, successors)) {
    if (component.length < 2) continue;
    for (const state of component) loopOf.set(state, component);
  }
  // Bookkeeping Pass states and the Waits outside a loop lead straight on: drawn inside what they lead to.
  const folds = (name: string) => {
    const { Type } = States[name];
    return !loopOf.has(name) && successors.get(name)?.length === 1 && ((Type === 'Pass' && !verdicts.has(name)) || Type === 'Wait');
  };
  const representative = new Map<string, string>();
  const resolve = (name: string, seen: Set<string> = new Set()): string => {
    const known = representative.get(name);
    if (known !== undefined) return known;
    const loop = loopOf.get(name);
    const found =
      loop !== undefined
        ? (loop.find((state) => States[state].Type === 'Task') ?? loop[0])
        : folds(name) && !seen.has(name)
          ? resolve(successors.get(name)?.[0] ?? name, seen.add(name))
          : name;
    representative.set(name, found);
    return found;
  };

  const ids = new Map<string, string>();
  const members = new Map<string, string[]>();
  for (const name of names) {
    const head = resolve(name);
    if (!ids.has(head)) ids.set(head, uniqueId(head, new Set(ids.values())));
    members.set(head, [...(members.get(head) ?? []), name]);
  }
  const nodeOf = new Map(names.map((name) => [name, ids.get(resolve(name)) as string]));
  const nodes: FlowNode[] = [...members.entries()].map(([head, states]) => {
    const type = States[head].Type;
    const loop = loopOf.has(head);
    return {
      id: ids.get(head) as string,
      label: loop ? `${head} ↺` : head,
      shape: loop ? 'loop' : type === 'Choice' ? 'branch' : type === 'Succeed' || type === 'Fail' ? 'end' : 'step',
      states: [head, ...states.filter((state) => state !== head)],
    };
  });

  // One edge per pair of nodes: a Next wins over a Catch to the same place (ReleaseLock goes on either way).
  const edges = new Map<string, FlowEdge>();
  for (const name of names) {
    for (const { to, kind } of transitionsOf(States[name])) {
      const from = nodeOf.get(name) as string;
      const target = nodeOf.get(to);
      if (target === undefined || target === from) continue;
      const key = `${from} ${target}`;
      if (!edges.has(key) || kind === 'next') edges.set(key, { from, to: target, kind });
    }
  }
  return {
    start: nodeOf.get(StartAt) as string,
    nodes,
    edges: [...edges.values()],
    nodeOf,
    types: new Map(names.map((name) => [name, States[name].Type ?? ''])),
    verdicts,
  };
}

/** `n_` and the name's letters, digits and _: never a Mermaid keyword (`end`) nor an edge marker (`o`, `x`). */
function uniqueId(name: string, taken: ReadonlySet<string>): string {
  const base = `n_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
  let id = base;
  for (let n = 2; taken.has(id); n += 1) id = `${base}_${n}`;
  return id;
}

/** Tarjan's algorithm, iterative: the definition's cycles are its polling loops. */
function stronglyConnected(names: readonly string[], successors: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of names) {
    if (index.has(root)) continue;
    const work: { name: string; next: number }[] = [{ name: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const outs = (successors.get(frame.name) ?? []).filter((to) => successors.has(to));
      if (frame.next < outs.length) {
        const to = outs[frame.next++];
        if (!index.has(to)) {
          index.set(to, counter);
          low.set(to, counter++);
          stack.push(to);
          onStack.add(to);
          work.push({ name: to, next: 0 });
        } else if (onStack.has(to)) {
          low.set(frame.name, Math.min(low.get(frame.name) as number, index.get(to) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.name, Math.min(low.get(parent.name) as number, low.get(frame.name) as number));
      if (low.get(frame.name) === index.get(frame.name)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop() as string;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.name);
        components.push(component);
      }
    }
  }
  return components;
}

/** How a state took part in the execution: green, red, amber; a state without a mark is grey. */
export type PathMark = 'passed' | 'failed' | 'rollback';

/** The state a rollback starts in, deploy or alarm-triggered. */
export const ROLLBACK_STATE = 'RollbackApp';

/**
 * The marks of an execution's states from what it entered, in order of first entry, and which of them failed
 * (a Task whose error a Catch took, or the one the execution failed in): a verdict Pass state entered failed
 * too; every state after the first failure, or from the rollback on, is on the rollback (or abort) path.
 */
export function pathMarks(graph: RunbookGraph, visited: readonly { readonly name: string; readonly status: string }[]): Map<string, PathMark> {
  const marks = new Map<string, PathMark>();
  let recovering = false;
  for (const { name, status } of visited) {
    const type = graph.types.get(name);
    if (type === undefined) continue;
    if (name === ROLLBACK_STATE) recovering = true;
    // A Fail state is where a handled failure ends, not where it happened.
    const failed = type !== 'Fail' && (status === 'failed' || graph.verdicts.has(name));
    marks.set(name, failed ? 'failed' : recovering ? 'rollback' : 'passed');
    if (failed) recovering = true;
  }
  return marks;
}

const STYLES: Record<PathMark | 'idle', string> = {
  passed: 'fill:#d7f0dc,stroke:#2e7d32,color:#1b4d20',
  failed: 'fill:#f9d6d5,stroke:#c62828,color:#7f1414,stroke-width:2px',
  rollback: 'fill:#ffe7b0,stroke:#d98c00,color:#6b4500',
  idle: 'fill:#f2f2f2,stroke:#b0b0b0,color:#7a7a7a',
};
/** A node's mark is its states' strongest: failed, then rollback, then passed. */
const STRENGTH: Record<PathMark, number> = { passed: 1, rollback: 2, failed: 3 };

/** Mermaid source of the graph with the marked states coloured: `flowchart TD`, one line per node, edge and class. */
export function mermaidFlowchart(graph: RunbookGraph, marks: ReadonlyMap<string, PathMark>): string {
  const lines = ['flowchart TD'];
  for (const node of graph.nodes) {
    const label = mermaidLabel(node.label);
    const shaped = { step: `["${label}"]`, loop: `["${label}"]`, branch: `{"${label}"}`, end: `(["${label}"])` }[node.shape];
    lines.push(`  ${node.id}${shaped}`);
  }
  for (const edge of graph.edges) lines.push(`  ${edge.from} ${edge.kind === 'catch' ? '-.->' : '-->'} ${edge.to}`);
  for (const [name, style] of Object.entries(STYLES)) lines.push(`  classDef ${name} ${style}`);
  const classes = new Map<PathMark | 'idle', string[]>();
  for (const node of graph.nodes) {
    const mark = node.states.map((state) => marks.get(state)).reduce<PathMark | undefined>((a, b) => (b && (!a || STRENGTH[b] > STRENGTH[a]) ? b : a), undefined);
    classes.set(mark ?? 'idle', [...(classes.get(mark ?? 'idle') ?? []), node.id]);
  }
  for (const [name, ids] of classes) lines.push(`  class ${ids.join(',')} ${name}`);
  return `${lines.join('\n')}\n`;
}

/** A label inside `"…"`: controls shown as escapes, and Mermaid's entity codes for what would end it or be read as markup or Markdown. */
export function mermaidLabel(text: string): string {
  const codes: Record<string, string> = { '#': '#35;', '"': '#quot;', '<': '#lt;', '>': '#gt;', '&': '#amp;', '`': '#96;' };
  return terminalText(text.replace(/\s+/g, ' ')).replace(/[#"<>&`]/g, (char) => codes[char]);
}

/** The runbook drawn from its definition with the path of an execution through it (its states, in order of first entry). */
export function runbookFlowchart(definition: Json, visited: readonly { readonly name: string; readonly status: string }[]): string {
  const graph = runbookGraph(definition);
  return mermaidFlowchart(graph, pathMarks(graph, visited));
}

/** What the colours and marks of the chart mean, for the line above it. */
export const FLOWCHART_LEGEND = 'Green passed, red failed, amber the rollback (or abort) path, grey not taken; ↺ is a polling loop.';

/** The fenced block GitHub renders as the chart. */
export function mermaidBlock(source: string): string {
  return `\`\`\`mermaid\n${source}\`\`\``;
}
