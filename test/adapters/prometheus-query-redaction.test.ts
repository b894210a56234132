import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusQuery } from '../../adapters/prometheus-query';
import { EnvSecretSource } from '../../adapters/env-secret-source';
import { MetricQueryError } from '../../core/errors';
import { parseConfig } from '../../config/load';
import type { AnalysisMetric } from '../../config/schema';
import { exampleInput } from '../lib/fixtures';

const TOKEN = 'prom-canary-7f3a9c21d4e8b605';

/** A misbehaving server: every answer quotes the request's Authorization header back, in a few shapes. */
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((request, response) => {
    const auth = request.headers.authorization ?? '';
    const shape = new URL(request.url ?? '/', 'http://x').searchParams.get('query');
    if (shape === 'html') {
      response.writeHead(502, { 'content-type': 'text/html' }).end(`<h1>Bad gateway</h1><p>request had ${auth}</p>`);
    } else if (shape === 'refused') {
      response.writeHead(400).end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: `token ${auth} is not allowed to run this` }));
    } else {
      const echo = Buffer.from(auth).toString('base64');
      response.writeHead(400).end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: `header was ${echo} (cut: ${auth.slice(0, 20)})` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function metric(query: string): AnalysisMetric {
  const config = parseConfig({
    ...exampleInput,
    analysis: {
      secrets: { PROM: { env: 'PROM_CANARY_TOKEN' } },
      metrics: [{ name: 'p95', provider: { kind: 'prometheus', url, query, headers: { Authorization: 'Bearer {{secrets.PROM}}' } }, failureCondition: 'result > 1' }],
    },
  });
  return config.analysis.metrics[0];
}

describe('PrometheusQuery with a server that echoes its headers', () => {
  it.each(['html', 'refused', 'encoded'])('keeps the header secret out of the error (%s answer)', async (shape) => {
    const query = new PrometheusQuery({ secretRefs: { PROM: { env: 'PROM_CANARY_TOKEN' } }, secrets: new EnvSecretSource({ PROM_CANARY_TOKEN: TOKEN }) });
    const error = await query.value(metric(shape), new Date()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricQueryError);
    const message = (error as Error).message;
    expect(message).toContain('***');
    expect(message).not.toContain(TOKEN);
    expect(message).not.toContain(TOKEN.slice(0, 10));
    expect(message).not.toContain(Buffer.from(`Bearer ${TOKEN}`).toString('base64').slice(8, 30));
  });
});
