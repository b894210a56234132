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
