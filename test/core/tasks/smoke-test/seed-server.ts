import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How one path misbehaves: a status or body override, a delay, or failing the first N requests. */
export interface Knob {
  status?: number;
  body?: string;
  delayMs?: number;
  /** Answer 503 to this many requests, then behave. */
  failFirst?: number;
  /** Redirect here (with `status`, 302 unless set). */
  location?: string;
}

/**
 * A real HTTP server on 127.0.0.1 implementing the seed runbook's smoke-test endpoints (health with version,
 * database health, login → token → protected calls) plus knobs the tests turn, and counters they read.
 */
export interface SeedServer {
  readonly baseUrl: string;
  version: string;
  password: string;
  token: string;
  readonly knobs: Map<string, Knob>;
  /** Requests per `METHOD path`. */
  readonly hits: Map<string, number>;
  /** Authorization headers received, in order. */
  readonly authorizations: string[];
  /** X-Api-Key headers received, in order. */
  readonly apiKeys: string[];
  /** `> METHOD path` when a request arrives, `< METHOD path` when its response is closed. */
  readonly log: string[];
  /** The largest number of requests in flight at once. */
  maxInFlight: number;
  reset(): void;
  close(): Promise<void>;
}

export async function startSeedServer(): Promise<SeedServer> {
  let inFlight = 0;
  const state = {
    version: '1.0.0',
    password: 'Test123!@#',
    token: 'tok-1f6a0c',
    knobs: new Map<string, Knob>(),
    hits: new Map<string, number>(),
    authorizations: [] as string[],
    apiKeys: [] as string[],
    log: [] as string[],
    maxInFlight: 0,
  };

  const server = createServer((req, res) => {
    const line = `${req.method} ${new URL(req.url ?? '/', 'http://127.0.0.1').pathname}`;
    inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    state.log.push(`> ${line}`);
    res.on('close', () => {
      inFlight -= 1;
      state.log.push(`< ${line}`);
    });
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const key = `${req.method} ${url.pathname}`;
    const count = (state.hits.get(key) ?? 0) + 1;
    state.hits.set(key, count);
    if (req.headers.authorization !== undefined) state.authorizations.push(req.headers.authorization);
    const apiKey = req.headers['x-api-key'];
    if (typeof apiKey === 'string') state.apiKeys.push(apiKey);

    const knob = state.knobs.get(url.pathname) ?? {};
    if (knob.delayMs) {
      const waited = await delay(knob.delayMs, res);
      if (!waited) return;
    }
    if (knob.failFirst !== undefined && count <= knob.failFirst) return send(res, 503, { error: 'warming up' });
    if (knob.location !== undefined) {
      res.writeHead(knob.status ?? 302, { location: knob.location });
      res.end();
      return;
    }
    if (knob.status !== undefined || knob.body !== undefined) {
      res.writeHead(knob.status ?? 200, { 'content-type': 'application/json' });
      res.end(knob.body ?? '{}');
      return;
    }
    route(req, res, url, body);
  }

  function route(req: IncomingMessage, res: ServerResponse, url: URL, body: string): void {
    const bearer = req.headers.authorization === `Bearer ${state.token}`;
    switch (`${req.method} ${url.pathname}`) {
      case 'GET /health':
      case 'GET /api/health':
        return send(res, 200, { status: 'healthy', timestamp: '2025-12-22T23:47:12Z', version: state.version });
      case 'GET /api/health/db':
        return send(res, 200, { database: 'connected', latency_ms: 15 });
      case 'POST /api/auth/login': {
        const credentials = parse(body) as { email?: string; password?: string } | undefined;
        if (req.headers['content-type'] !== 'application/json') return send(res, 415, { error: 'expected application/json' });
        if (credentials?.password !== state.password) return send(res, 401, { error: 'invalid credentials' });
        return send(res, 200, { token: state.token, user: { email: credentials.email } });
      }
      case 'GET /api/auth/verify':
      case 'GET /api/users/me':
        return bearer ? send(res, 200, { email: 'smoke-test@example.com', roles: ['smoke'] }) : send(res, 401, { error: 'unauthorized' });
      case 'POST /echo':
      case 'GET /echo': {
        // Echoes what it received, in the body (text or JSON) and in a header, with the status asked for.
        const authorization = req.headers.authorization ?? '';
        const json = url.searchParams.get('format') === 'json';
        res.writeHead(Number(url.searchParams.get('status') ?? 500), {
          'content-type': json ? 'application/json' : 'text/plain',
          'x-echo': encodeURIComponent(`${authorization} ${body}`),
        });
        res.end(json ? JSON.stringify({ error: 'rejected', authorization, received: body }) : `rejected authorization=${authorization} body=${body}`);
        return;
      }
      default:
        return send(res, 404, { error: `no route ${req.method} ${url.pathname}` });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(state, {
    baseUrl: `http://127.0.0.1:${port}`,
    reset() {
      state.version = '1.0.0';
      state.password = 'Test123!@#';
      state.token = 'tok-1f6a0c';
      state.knobs.clear();
      state.hits.clear();
      state.authorizations.length = 0;
      state.apiKeys.length = 0;
      state.log.length = 0;
      state.maxInFlight = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  });
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Resolves false when the client went away first (a timed-out request), so nothing is written. */
function delay(ms: number, res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), ms);
    res.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
