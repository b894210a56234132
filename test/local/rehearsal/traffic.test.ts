import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BAKE_STATES, BASELINE_STATE, bakeTrafficListener, Traffic, trafficRate, warmUpTrafficListener } from '../../../local/rehearsal/traffic';
import type { StateEvent } from '../../../core/state-event';
import { loadDefinition } from '../../../statemachines/definition';

let server: Server;
let base = '';
let served = 0;

beforeAll(async () => {
  // Every third request fails, as a regressing release would.
  server = createServer((_req, res) => {
    served += 1;
    res.writeHead(served % 3 === 0 ? 500 : 200).end('{}');
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await new Promise((done) => server.close(done));
});

describe('Traffic', () => {
  it('sends requests until stopped and counts the answers by status', async () => {
    const traffic = new Traffic(`${base}/api/items`, 200);
    traffic.start();
    await vi.waitFor(() => expect(served).toBeGreaterThanOrEqual(9));

    const summary = await traffic.stop();

    expect(summary.url).toBe(`${base}/api/items`);
    expect(summary.requests).toBe(Object.values(summary.byStatus).reduce((a, b) => a + b, 0));
    expect(summary.byStatus['500']).toBeGreaterThanOrEqual(3);
    expect(summary.byStatus['200']).toBeGreaterThanOrEqual(6);
    expect(traffic.running).toBe(false);
  });

  it('counts an app that does not answer as unreachable', async () => {
    const closed = createServer();
    await new Promise<void>((done) => closed.listen(0, '127.0.0.1', done));
    const address = closed.address();
    await new Promise((done) => closed.close(done));
    const traffic = new Traffic(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`, 100);

    traffic.start();
    await vi.waitFor(() => expect(traffic.summary().requests).toBeGreaterThan(0));

    expect(Object.keys((await traffic.stop()).byStatus)).toEqual(['unreachable']);
  });
});

/** Enters a state as the engine reports it; answers whether the traffic runs then. */
function entering(listen: (event: StateEvent) => void, traffic: Traffic): (state: string) => boolean {
  return (state) => {
    listen({ type: 'entered', state, stateType: 'Task', at: 0 });
    return traffic.running;
  };
}

describe('bakeTrafficListener', () => {
  it("runs the traffic from the bake's first state until the execution leaves the bake", async () => {
    const traffic = new Traffic(`${base}/api/items`, 50);
    const enter = entering(bakeTrafficListener(traffic), traffic);

    expect([enter('SmokeTest'), enter('SmokeTestsPassed')]).toEqual([false, false]);
    expect([enter('StartBake'), enter('WaitDuringBake'), enter('EvaluateAlarms'), enter('BakeVerdict'), enter('WaitDuringBake')]).toEqual([true, true, true, true, true]);
    expect(enter('AlarmFired')).toBe(false);
    expect(traffic.started).toBe(true);
    await traffic.stop();
  });

  it('names states the definition has', () => {
    const states = Object.keys((loadDefinition() as { States: Record<string, unknown> }).States);
    expect(states).toEqual(expect.arrayContaining([...BAKE_STATES]));
  });
});

describe('warmUpTrafficListener', () => {
  it('keeps the warm-up traffic running through Preflight and stops it at the next state', async () => {
    const traffic = new Traffic(`${base}/api/items`, 50);
    const enter = entering(warmUpTrafficListener(traffic), traffic);
    traffic.start();

    expect([enter('LoadConfig'), enter('ValidateInput'), enter('AcquireLock'), enter('Preflight')]).toEqual([true, true, true, true]);
    expect(enter('TakeSnapshot')).toBe(false);
    expect(enter('StartBake')).toBe(false);
    expect((await traffic.stop()).requests).toBeGreaterThanOrEqual(0);
  });

  it('names a state the definition has', () => {
    expect(Object.keys((loadDefinition() as { States: Record<string, unknown> }).States)).toContain(BASELINE_STATE);
  });
});

describe('trafficRate', () => {
  it('gives each evaluation twice the minimum requests, within 10 to 200 per second', () => {
    expect(trafficRate(20, 500)).toBe(80);
    expect(trafficRate(20, 1000)).toBe(40);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 600_000 }), (minRequests, waitMs) => {
        const rate = trafficRate(minRequests, waitMs);
        return rate >= 10 && rate <= 200 && (rate === 200 || (rate * waitMs) / 1000 >= 2 * minRequests);
      }),
    );
  });
});
