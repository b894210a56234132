import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EnvSecretSource } from '../../adapters/env-secret-source';
import { PrometheusQuery, type RequestSigner } from '../../adapters/prometheus-query';
import { MetricQueryError } from '../../core/errors';
import { freePort } from '../../local/free-port';
import { analysisMetric } from '../support/metric-queries';

const TOKEN = 'prom-token-5b0e71c9a24d8f36';
const AT = new Date('2025-03-14T09:30:00.250Z');
const QUERY = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))';

/** What the server saw of each request. */
interface Seen {
  readonly path: string;
  readonly query: string | null;
  readonly time: string | null;
  readonly headers: IncomingHttpHeaders;
}

/** A Prometheus stand-in on 127.0.0.1 answering whatever the test sets next. */
let server: Server;
let baseUrl: string;
let answer: { status: number; body: string } | ((response: ServerResponse) => void);
const seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    seen.push({ path: url.pathname, query: url.searchParams.get('query'), time: url.searchParams.get('time'), headers: request.headers });
    if (typeof answer === 'function') answer(response);
    else response.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen.length = 0;
});

function answers(status: number, body: unknown): void {
  answer = { status, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

const vector = (...values: string[]) => ({ status: 'success', data: { resultType: 'vector', result: values.map((value, i) => ({ metric: { pod: `api-${i}` }, value: [AT.getTime() / 1000, value] })) } });

/** The adapter reading the header secret PROM from the environment given. */
function adapter(options: { env?: NodeJS.ProcessEnv; signer?: RequestSigner } = {}): PrometheusQuery {
  return new PrometheusQuery({ secretRefs: { PROM: { env: 'PROM_TOKEN' } }, secrets: new EnvSecretSource(options.env ?? { PROM_TOKEN: TOKEN }), signer: options.signer });
}

function metric(provider: Record<string, unknown> = {}) {
  return analysisMetric({ provider: { kind: 'prometheus', url: baseUrl, query: QUERY, headers: { Authorization: 'Bearer {{secrets.PROM}}' }, ...provider } });
}

/** A signed metric pointed at the local server: the schema allows sigv4 only for a workspace URL, which a test cannot serve. */
function signedMetric() {
  const unsigned = metric({ headers: {} });
  return { ...unsigned, provider: { ...unsigned.provider, sigv4: true } };
}

async function failure(promise: Promise<unknown>): Promise<MetricQueryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MetricQueryError);
  const message = (error as Error).message;
  expect(message).not.toContain(TOKEN);
  return error as MetricQueryError;
}

describe('PrometheusQuery', () => {
  it('asks /api/v1/query for the PromQL at the measurement time, in unix seconds, with the header secret expanded', async () => {
    answers(200, vector('0.231'));

    expect(await adapter().value(metric(), AT)).toBe(0.231);
    expect(seen).toEqual([{ path: '/api/v1/query', query: QUERY, time: '1741944600.250', headers: expect.objectContaining({ authorization: `Bearer ${TOKEN}`, accept: 'application/json' }) }]);
  });

  it('sends a secret holding $ patterns as it is, and a secret used twice in one header', async () => {
    answers(200, vector('1'));
    const secret = "p@$$w0rd$&$'$1";
    await adapter({ env: { PROM_TOKEN: secret } }).value(metric({ headers: { Authorization: 'Basic {{secrets.PROM}}', 'X-Twice': '{{secrets.PROM}}|{{secrets.PROM}}' } }), AT);
    expect(seen[0].headers).toMatchObject({ authorization: `Basic ${secret}`, 'x-twice': `${secret}|${secret}` });
  });

  it('appends the API path to a base path, with or without a trailing slash', async () => {
    answers(200, vector('1'));
    await adapter().value(metric({ url: `${baseUrl}/prometheus/` }), AT);
    await adapter().value(metric({ url: `${baseUrl}/prometheus` }), AT);
    expect(seen.map((s) => s.path)).toEqual(['/prometheus/api/v1/query', '/prometheus/api/v1/query']);
  });

  it('reads a scalar', async () => {
    answers(200, { status: 'success', data: { resultType: 'scalar', result: [AT.getTime() / 1000, '42.5'] } });
    expect(await adapter().value(metric(), AT)).toBe(42.5);
  });

  it.each([
    ['an empty vector', vector()],
    ['NaN (a ratio over no requests)', vector('NaN')],
    ['+Inf', vector('+Inf')],
    ['-Inf', vector('-Inf')],
  ])('reads %s as no data', async (_case, body) => {
    answers(200, body);
    expect(await adapter().value(metric(), AT)).toBeNull();
  });

  it('fails when the query answers more than one series, saying how many and asking for an aggregation', async () => {
    answers(200, vector('0.1', '0.2', '0.3', '0.4'));
    const error = await failure(adapter().value(metric(), AT));
    expect(error.message).toBe(
      `the query answered 4 series ({"pod":"api-0"}, {"pod":"api-1"}, {"pod":"api-2"}, …); aggregate them to one, such as sum(…) or max(…): ${QUERY}`,
    );
  });

  it('fails when the query answers a range or a string, not a number', async () => {
    answers(200, { status: 'success', data: { resultType: 'matrix', result: [] } });
    expect((await failure(adapter().value(metric(), AT))).message).toBe(`the query answered a matrix result, not a number: make it an instant vector or a scalar (${QUERY})`);
  });

  it('fails with Prometheus’ own error when it refuses the query', async () => {
    answers(400, { status: 'error', errorType: 'bad_data', error: 'invalid parameter "query": 1:27: parse error: unclosed left parenthesis' });
    const error = await failure(adapter().value(metric({ query: 'sum(rate(http_requests_total[5m])' }), AT));
    expect(error.message).toBe('Prometheus refused the query (HTTP 400): bad_data: invalid parameter "query": 1:27: parse error: unclosed left parenthesis');
  });

  it('fails when a proxy answers without JSON, quoting the start of its page', async () => {
    answers(502, `<html><body><h1>502 Bad Gateway</h1>${'x'.repeat(400)}</body></html>`);
    const error = await failure(adapter().value(metric(), AT));
    expect(error.message).toMatch(new RegExp(`^Prometheus at ${baseUrl} answered 502 without a query result: <html><body><h1>502 Bad Gateway</h1>x+…$`));
    expect(error.message.length).toBeLessThan(420);
  });

  it('fails when nothing listens at the URL', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const error = await failure(adapter().value(metric({ url: closed }), AT));
    expect(error.message).toMatch(new RegExp(`^Prometheus at ${closed} did not answer: `));
  });

  it('fails when the connection drops while the answer is read', async () => {
    answer = (response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      response.write('{"status":"success","data":{"resultType":"vec');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    const error = await failure(adapter().value(metric(), AT));
    expect(error.message).toMatch(new RegExp(`^Prometheus at ${baseUrl} did not answer: `));
  });

  it.each(['null', '42', '"ok"'])('fails when the answer is JSON but not an object (%s)', async (body) => {
    answers(200, body);
    const error = await failure(adapter().value(metric(), AT));
    expect(error.message).toBe(`Prometheus at ${baseUrl} answered 200 without a query result: ${body}`);
  });

  it('fails naming the secret when it cannot be read, and asks nothing', async () => {
    const error = await failure(adapter({ env: {} }).value(metric(), AT));
    expect(error.message).toBe('analysis secret PROM: environment variable PROM_TOKEN is not set');
    expect(seen).toEqual([]);
  });

  it('never puts the header secret in a message, even one the HTTP client writes about the header', async () => {
    const broken = `${TOKEN}\nX-Injected: yes`;
    const error = await failure(adapter({ env: { PROM_TOKEN: broken } }).value(metric(), AT));
    expect(error.message).not.toContain('X-Injected');
    expect(seen).toEqual([]);
  });

  it('never puts the header secret in a message when the server quotes it back', async () => {
    answers(401, { status: 'error', errorType: 'unauthorized', error: `token Bearer ${TOKEN} has expired` });
    const error = await failure(adapter().value(metric(), AT));
    expect(error.message).toContain('Prometheus refused the query (HTTP 401): unauthorized: token Bearer ');
  });

  it('lets the signer sign the request it is given and sends the headers it returns', async () => {
    answers(200, vector('3'));
    const signed: { url: string; headers: Record<string, string> }[] = [];
    const signer: RequestSigner = async ({ url, headers }) => {
      signed.push({ url: url.toString(), headers });
      return { ...headers, authorization: 'AWS4-HMAC-SHA256 Credential=AKIDTESTONLY/20250314/eu-west-1/aps/aws4_request', 'x-amz-date': '20250314T093000Z' };
    };

    expect(await adapter({ signer }).value(signedMetric(), AT)).toBe(3);
    expect(signed).toHaveLength(1);
    const url = new URL(signed[0].url);
    expect([url.origin, url.pathname, url.searchParams.get('query'), url.searchParams.get('time')]).toEqual([baseUrl, '/api/v1/query', QUERY, '1741944600.250']);
    expect(signed[0].headers).toEqual({ accept: 'application/json' });
    expect(seen[0].headers).toMatchObject({ authorization: 'AWS4-HMAC-SHA256 Credential=AKIDTESTONLY/20250314/eu-west-1/aps/aws4_request', 'x-amz-date': '20250314T093000Z' });
  });

  it('fails when the signer cannot sign (no credentials), and asks nothing', async () => {
    const signer: RequestSigner = async () => Promise.reject(new Error('Could not load credentials from any providers'));
    const error = await failure(adapter({ signer }).value(signedMetric(), AT));
    expect(error.message).toBe('analysis metric p95: signing the query for Amazon Managed Service for Prometheus failed: Could not load credentials from any providers');
    expect(seen).toEqual([]);
  });

  it('refuses a sigv4 metric without a signer (a rehearsal has no AWS credentials)', async () => {
    const error = await failure(adapter().value(signedMetric(), AT));
    expect(error.message).toBe('analysis metric p95: sigv4 signing needs AWS credentials, which a rehearsal does not use');
    expect(seen).toEqual([]);
  });

  it('refuses a metric of another provider', async () => {
    const logs = analysisMetric({ provider: { kind: 'logs', logGroupNames: ['/ecs/shop-api'], query: 'stats count()' } });
    expect((await failure(adapter().value(logs, AT))).message).toBe('analysis metric p95: the Prometheus adapter got a logs provider');
  });
});
