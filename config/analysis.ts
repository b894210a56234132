/**
 * The analysis vocabulary, parsed without a validation library so that the functions judging metrics bundle it
 * alone: conditions (`result <= 0.01`, `result <= baseline * 1.2`) and checkpoint schedules (`2m, 5m, every 5m`).
 * The configuration schema refuses what these parsers refuse, with their messages.
 */

export type Comparison = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** `result <op> <bound>`, the bound a number or the baseline scaled (`baseline * 1.2`) or shifted (`baseline + 50`). */
export interface Condition {
  readonly text: string;
  readonly comparison: Comparison;
  readonly bound: { readonly kind: 'number'; readonly value: number } | { readonly kind: 'baseline'; readonly operator: '*' | '+' | '-'; readonly operand: number };
}

/** A condition or a schedule that cannot be read; the message says what was expected. */
export class AnalysisSyntaxError extends Error {
  override readonly name = 'AnalysisSyntaxError';
}

const NUMBER = String.raw`-?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?`;
const CONDITION = new RegExp(String.raw`^\s*result\s*(<=|>=|==|!=|<|>)\s*(?:(${NUMBER})|baseline(?:\s*([*+-])\s*(${NUMBER}))?)\s*$`, 'i');

/** Reads a condition; throws AnalysisSyntaxError naming what a condition looks like. */
export function parseCondition(text: string): Condition {
  const match = CONDITION.exec(text);
  if (!match) {
    throw new AnalysisSyntaxError(
      'must be "result <op> <number>" or "result <op> baseline [* | + | - <number>]", with <op> one of < <= > >= == !=, such as "result <= 0.01" or "result <= baseline * 1.2"',
    );
  }
  const [, comparison, number, operator, operand] = match;
  const bound: Condition['bound'] =
    number !== undefined ? { kind: 'number', value: Number(number) } : { kind: 'baseline', operator: (operator ?? '*') as '*' | '+' | '-', operand: operand === undefined ? 1 : Number(operand) };
  return { text: text.trim(), comparison: comparison as Comparison, bound };
}

/** The number a condition compares with, given the baseline; null when it needs a baseline that has no data. */
export function boundOf(condition: Condition, baseline: number | null): number | null {
  const { bound } = condition;
  if (bound.kind === 'number') return bound.value;
  if (baseline === null) return null;
  if (bound.operator === '*') return baseline * bound.operand;
  return bound.operator === '+' ? baseline + bound.operand : baseline - bound.operand;
}

/** Whether `value` meets the condition; null when the bound is unknown (no baseline). */
export function holds(condition: Condition, value: number, baseline: number | null): boolean | null {
  const bound = boundOf(condition, baseline);
  if (bound === null) return null;
  switch (condition.comparison) {
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '==':
      return value === bound;
    case '!=':
      return value !== bound;
  }
}

/**
 * Whether any value could pass: false when both conditions are absolute and every value meeting the success condition
 * meets the failure condition too, which is judged first. A relative condition depends on the baseline: true.
 */
export function canSucceed(success: Condition, failure: Condition): boolean {
  if (success.bound.kind !== 'number' || failure.bound.kind !== 'number') return true;
  const [low, high] = [success.bound.value, failure.bound.value].sort((a, b) => a - b);
  // The two bounds cut the number line into at most five pieces (two of them points): one value of each decides.
  const values = [low - Math.max(1, Math.abs(low)), low, (low + high) / 2, high, high + Math.max(1, Math.abs(high))];
  return values.some((value) => holds(success, value, null) === true && holds(failure, value, null) === false);
}

/** `90s`, `5m`, `2h` → seconds. */
function durationSeconds(text: string): number | null {
  const match = /^(\d+)\s*(s|m|h)$/.exec(text.trim());
  if (!match) return null;
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
}

/** When the bake measures: fixed offsets from its start, then optionally a repeat. */
export interface Schedule {
  readonly offsetsSeconds: readonly number[];
  readonly everySeconds: number | null;
}

/** Reads `2m, 5m, 15m, every 5m`; offsets must increase, `every` may only come last. */
export function parseSchedule(text: string): Schedule {
  const items = text.split(',').map((item) => item.trim());
  const offsets: number[] = [];
  let every: number | null = null;
  for (const [index, item] of items.entries()) {
    const repeat = /^every\s+(.+)$/i.exec(item);
    const seconds = durationSeconds(repeat ? repeat[1] : item);
    if (seconds === null || seconds === 0) {
      throw new AnalysisSyntaxError(`"${item}" is not a duration such as 30s, 5m or 2h (nor "every" one): write the schedule as "2m, 5m, 15m, every 5m"`);
    }
    if (repeat) {
      if (index !== items.length - 1) throw new AnalysisSyntaxError(`"${item}" must come last: offsets first, then one "every"`);
      every = seconds;
    } else {
      if (offsets.length > 0 && seconds <= offsets[offsets.length - 1]) throw new AnalysisSyntaxError(`"${item}" must come after ${offsets[offsets.length - 1]}s: offsets increase`);
      offsets.push(seconds);
    }
  }
  return { offsetsSeconds: offsets, everySeconds: every };
}

/**
 * The bake evaluations (1-based, one every `pollSeconds`) at which the schedule measures, up to `checks`. The
 * bake counts evaluations rather than clock time, so a rehearsal may shorten its waits without moving a
 * checkpoint. The last evaluation always measures: every metric is judged before a release is kept.
 */
export function checkpointChecks(schedule: Schedule | null, pollSeconds: number, checks: number): number[] {
  const at = new Set<number>([checks]);
  if (schedule === null) {
    for (let check = 1; check <= checks; check += 1) at.add(check);
  } else {
    const toCheck = (seconds: number) => Math.max(1, Math.ceil(seconds / pollSeconds));
    for (const offset of schedule.offsetsSeconds) if (toCheck(offset) <= checks) at.add(toCheck(offset));
    if (schedule.everySeconds !== null) {
      const step = toCheck(schedule.everySeconds);
      const last = schedule.offsetsSeconds.length > 0 ? toCheck(schedule.offsetsSeconds[schedule.offsetsSeconds.length - 1]) : 0;
      for (let check = last + step; check <= checks; check += step) at.add(check);
    }
  }
  return [...at].sort((a, b) => a - b);
}

/** The region and workspace id of an Amazon Managed Service for Prometheus URL (`https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>`); null for any other URL. */
export function apsWorkspaceOf(url: string): { readonly region: string; readonly workspaceId: string } | null {
  const match = /^https:\/\/aps-workspaces\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com\/workspaces\/(ws-[A-Za-z0-9-]+)\/?$/.exec(url);
  return match ? { region: match[1], workspaceId: match[2] } : null;
}
