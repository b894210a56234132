/**
 * How long a deployment (or a release plan) is expected to take, from how long the last successful ones took:
 * the median, so that one run stuck on a long approval does not move the estimate much.
 */

/** Successful executions the estimate looks back at, newest first. */
export const DURATION_SAMPLES = 10;

export interface ExpectedDuration {
  /** The median of the samples in seconds; null without any. */
  readonly seconds: number | null;
  /** How many past executions it is the median of. */
  readonly samples: number;
  /** The shortest and longest of them, in seconds; null without any. */
  readonly range: readonly [number, number] | null;
}

/** The expected duration from past durations in seconds, newest first; entries that are not a duration are skipped. */
export function expectedDuration(pastSeconds: readonly (number | null | undefined)[], samples = DURATION_SAMPLES): ExpectedDuration {
  const recent = pastSeconds.filter((s): s is number => typeof s === 'number' && Number.isFinite(s) && s >= 0).slice(0, samples);
  if (recent.length === 0) return { seconds: null, samples: 0, range: null };
  const sorted = [...recent].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { seconds: Math.round(median), samples: recent.length, range: [sorted[0], sorted[sorted.length - 1]] };
}

/** `45 s`, `14 min`, `2 h 05 min`: how people say a duration in a message. */
export function spokenDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/**
 * `about 14 min (median of the last 5 successful deployments: 11 min to 19 min)`, or `unknown (no successful
 * deployment recorded yet)`. `noun` names one execution counted (`deployment`, `run of this plan`); its plural adds an s.
 */
export function describeExpectedDuration(expected: ExpectedDuration, noun: string): string {
  if (expected.seconds === null || !expected.range) return `unknown (no successful ${noun} recorded yet)`;
  if (expected.samples === 1) return `about ${spokenDuration(expected.seconds)} (one successful ${noun} recorded)`;
  const [shortest, longest] = expected.range;
  return `about ${spokenDuration(expected.seconds)} (median of the last ${expected.samples} successful ${noun}s: ${spokenDuration(shortest)} to ${spokenDuration(longest)})`;
}
