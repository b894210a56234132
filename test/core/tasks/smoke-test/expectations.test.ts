import { describe, expect, it } from 'vitest';
import { SmokeCheck } from '../../../../config/schema';
import { judge } from '../../../../core/tasks/smoke-test/expectations';
import { Redactor } from '../../../../core/tasks/smoke-test/redact';

const check = SmokeCheck.parse({ name: 'health', path: '/health', expect: { maxLatencyMs: 200 }, capture: { token: '$.token' } });
const body = '{"token":"tok-7f3a90c2e1"}';

describe('judge', () => {
  it('passes a response that takes exactly the latency budget, and fails one a millisecond over it', () => {
    expect(judge({ status: 200, body, latencyMs: 200 }, check, []).reasons).toEqual([]);

    const over = judge({ status: 200, body, latencyMs: 201 }, check, []);
    expect(over.reasons.map((why) => why(new Redactor()))).toEqual(['took 201 ms, over the 200 ms budget']);
  });

  it('hands back what the capture paths found, from a failing response too, so that it can be masked', () => {
    expect(judge({ status: 200, body, latencyMs: 5 }, check, []).captured).toEqual(new Map([['token', 'tok-7f3a90c2e1']]));
    expect(judge({ status: 200, body, latencyMs: 900 }, check, []).captured).toEqual(new Map([['token', 'tok-7f3a90c2e1']]));
    expect(judge({ status: 503, body, latencyMs: 5 }, check, []).captured).toEqual(new Map([['token', 'tok-7f3a90c2e1']]));
  });
});

describe('matches', () => {
  const matching = (pattern: string) =>
    SmokeCheck.parse({ name: 'version', path: '/version', expect: { json: [{ path: '$.version', matches: pattern }] } });

  it('stops a pattern that backtracks catastrophically and fails the check, naming the pattern', () => {
    const check = matching('^(a+)+$');
    const started = performance.now();

    const verdict = judge({ status: 200, body: JSON.stringify({ version: `${'a'.repeat(27)}!` }), latencyMs: 5 }, check, check.expect.json);

    expect(performance.now() - started).toBeLessThan(2000);
    expect(verdict.reasons.map((why) => why(new Redactor()))).toEqual([
      '$.version: matching /^(a+)+$/ took over 100 ms and was stopped: the pattern backtracks catastrophically on this value (nested quantifiers such as (a+)+); rewrite it',
    ]);
  });

  it('still judges an ordinary pattern both ways', () => {
    const check = matching('^v\\d+\\.\\d+\\.\\d+$');
    const judged = (version: string) =>
      judge({ status: 200, body: JSON.stringify({ version }), latencyMs: 5 }, check, check.expect.json).reasons.map((why) => why(new Redactor()));

    expect(judged('v1.4.2')).toEqual([]);
    expect(judged('v1.4')).toEqual(['$.version is "v1.4", which does not match /^v\\d+\\.\\d+\\.\\d+$/']);
  });
});
