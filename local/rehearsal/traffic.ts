import type { StateEvent } from '../../core/state-event';

/** What the generator sent and how the app answered: `{"200": 230, "500": 41, "unreachable": 2}`. */
export interface TrafficSummary {
  readonly url: string;
  readonly requests: number;
  readonly byStatus: Readonly<Record<string, number>>;
}

/** The in-process equivalent of examples/demo-app/traffic.mjs: steady GETs, a few in flight at most. */
export class Traffic {
  private timer: NodeJS.Timeout | null = null;
  private everStarted = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly statuses = new Map<string, number>();

  constructor(
    readonly url: string,
    readonly requestsPerSecond: number,
    /** A stalled app must not pile up sockets: past this many open requests, ticks are skipped. */
    private readonly maxInFlight = 16,
  ) {}

  get running(): boolean {
    return this.timer !== null;
  }

  /** False when the execution never reached the bake. */
  get started(): boolean {
    return this.everStarted;
  }

  start(): void {
    if (this.timer) return;
    this.everStarted = true;
    this.timer = setInterval(() => this.send(), Math.max(1, Math.floor(1000 / this.requestsPerSecond)));
  }

  /** Stops sending and waits for the requests still open. */
  async stop(): Promise<TrafficSummary> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(this.inFlight);
    return this.summary();
  }

  summary(): TrafficSummary {
    const byStatus = Object.fromEntries([...this.statuses].sort(([a], [b]) => a.localeCompare(b)));
    return { url: this.url, requests: [...this.statuses.values()].reduce((sum, n) => sum + n, 0), byStatus };
  }

  private send(): void {
    if (this.inFlight.size >= this.maxInFlight) return;
    const request = fetch(this.url, { signal: AbortSignal.timeout(5000) })
      .then(async (response) => {
        await response.arrayBuffer();
        return String(response.status);
      })
      .catch(() => 'unreachable')
      .then((status) => {
        this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
        this.inFlight.delete(request);
      });
    this.inFlight.add(request);
  }
}

/** The demo app's data endpoint, which traffic.mjs calls too: the `errors-after` fault answers 500 there. */
export const TRAFFIC_PATH = '/api/items';

/** The bake loop of the definition: traffic runs from its first state until the execution leaves it. */
export const BAKE_STATES: ReadonlySet<string> = new Set(['StartBake', 'WaitDuringBake', 'EvaluateAlarms', 'BakeVerdict']);

/** Starts the traffic when the bake starts and stops it when the bake is over (released or rolling back). */
export function bakeTrafficListener(traffic: Traffic): (event: StateEvent) => void {
  return (event) => {
    if (event.type !== 'entered') return;
    if (BAKE_STATES.has(event.state)) traffic.start();
    else if (traffic.running) void traffic.stop();
  };
}

/** The state whose baselines the warm-up traffic feeds: Preflight measures every analysis metric before anything changes. */
export const BASELINE_STATE = 'Preflight';

/** Stops the warm-up traffic once the execution has moved past Preflight: the baselines are taken, and the deploy must not see it. */
export function warmUpTrafficListener(traffic: Traffic): (event: StateEvent) => void {
  let measured = false;
  return (event) => {
    if (event.type !== 'entered' || !traffic.running) return;
    if (event.state === BASELINE_STATE) measured = true;
    else if (measured) void traffic.stop();
  };
}

/**
 * Requests per second that give each alarm evaluation at least twice the rules' `minRequests`, when a
 * Wait state lasts `waitMs`: the rehearsal shortens the bake's waits, so the traffic must be denser.
 */
export function trafficRate(minRequests: number, waitMs: number): number {
  const needed = Math.ceil((2 * Math.max(minRequests, 1) * 1000) / Math.max(waitMs, 1));
  return Math.min(200, Math.max(10, needed));
}
