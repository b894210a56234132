import { setTimeout as sleep } from 'node:timers/promises';
import type { SmokeCheck } from '../../../config/schema';
import { judge } from './expectations';
import { type Reason, reason } from './reason';
import { fetchWithinOrigin, RedirectRefusedError } from './redirects';
import { type PreparedCheck, prepareCheck } from './request';
import type { TemplateScope } from './template';

/** The settings every check of a run shares. */
export interface CheckSettings {
  readonly baseUrl: string;
  readonly requestTimeoutMs: number;
  readonly fetch: typeof fetch;
}

/** One check's outcome, before its reasons are rendered. */
export interface CheckRun {
  readonly passed: boolean;
  readonly status: number | null;
  /** Of the last attempt; null when it got no complete response. */
  readonly latencyMs: number | null;
  readonly attempts: number;
  readonly reasons: readonly Reason[];
  /** The last failed response's body, for a redacted excerpt. */
  readonly body: string | null;
  /** What the capture paths found in the last response, passed or not: all of it is masked; dependents run only after a pass. */
  readonly captured: ReadonlyMap<string, string>;
}

interface Attempt {
  readonly status: number | null;
  readonly latencyMs: number | null;
  readonly reasons: Reason[];
  readonly body: string | null;
  readonly captured: ReadonlyMap<string, string>;
}

/**
 * Runs one check: up to `retries` extra attempts, `retryDelayMs` apart, until one passes.
 * Never throws: whatever goes wrong becomes a reason the check failed.
 */
export async function runCheck(check: SmokeCheck, scope: TemplateScope, settings: CheckSettings): Promise<CheckRun> {
  let prepared: PreparedCheck;
  try {
    prepared = prepareCheck(check, settings.baseUrl, scope);
  } catch (error) {
    return { passed: false, status: null, latencyMs: null, attempts: 0, reasons: [reason`${messageOf(error)}`], body: null, captured: new Map() };
  }

  let attempts = 0;
  for (;;) {
    attempts += 1;
    const result = await attempt(check, prepared, settings);
    const passed = result.reasons.length === 0;
    if (passed || attempts > check.retries) {
      return { ...result, passed, attempts, body: passed ? null : result.body };
    }
    await sleep(check.retryDelayMs);
  }
}

async function attempt(check: SmokeCheck, prepared: PreparedCheck, settings: CheckSettings): Promise<Attempt> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), settings.requestTimeoutMs);
  // A monotonic clock: wall-clock adjustments must not count as latency.
  const started = performance.now();
  let status: number | null = null;
  try {
    const response = await fetchWithinOrigin(settings.fetch, prepared.url, { ...prepared.init, signal: controller.signal });
    status = response.status;
    const body = await response.text();
    const latencyMs = Math.round(performance.now() - started);
    const verdict = judge({ status, body, latencyMs }, check, prepared.assertions);
    return { status, latencyMs, body, ...verdict };
  } catch (error) {
    return { status, latencyMs: null, reasons: [requestFailure(error, controller.signal.aborted, settings.requestTimeoutMs)], body: null, captured: new Map() };
  } finally {
    clearTimeout(timer);
  }
}

function requestFailure(error: unknown, timedOut: boolean, timeoutMs: number): Reason {
  if (error instanceof RedirectRefusedError) return error.why;
  return timedOut ? reason`timed out after ${timeoutMs} ms` : reason`request failed: ${messageOf(error)}`;
}

/** The most specific message of an error: fetch wraps socket errors in a generic "fetch failed". */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  return cause instanceof Error && cause.message ? `${error.message} (${cause.message})` : error.message;
}
