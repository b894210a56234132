import { createHash, createHmac } from 'node:crypto';
import type { AnalysisMetric, MetricProvider, SecretRef } from '../config/schema';
import { templatePattern } from '../config/template-syntax';
import type { MetricQuery } from '../core/ports/metric-query';
import type { SecretSource } from '../core/ports/secret-source';
import { Redactor } from '../core/tasks/smoke-test/redact';
import { MetricQueryError, RunbookError } from '../core/errors';

/** A PromQL query is given this long to answer before the measurement counts as an error. */
const QUERY_TIMEOUT_MS = 10_000;
/** Of an error body, this much is quoted in a message. */
const MAX_QUOTED = 300;

export type PrometheusProvider = Extract<MetricProvider, { kind: 'prometheus' }>;

/** Signs a request for Amazon Managed Service for Prometheus; given only on AWS. */
export type RequestSigner = (request: { url: URL; headers: Record<string, string> }) => Promise<Record<string, string>>;

export interface PrometheusQueryDeps {
  /** `analysis.secrets`: what `{{secrets.NAME}}` in a header names. */
  readonly secretRefs: Readonly<Record<string, SecretRef>>;
  readonly secrets: SecretSource;
  readonly fetch?: typeof fetch;
  /** Needed by `sigv4: true` providers; without it they are refused. */
  readonly signer?: RequestSigner;
}

/**
 * PromQL over a Prometheus HTTP API (`/api/v1/query`), instant queries at the measurement's time. The answer must
 * be one number: a scalar, or a vector of at most one series (none: no data). NaN and infinities are no data
 * (a ratio over no requests). Header values may hold secrets: they are expanded per query and never appear in a
 * message; neither does the response, beyond Prometheus' own error text.
 */
export class PrometheusQuery implements MetricQuery {
  private readonly fetch: typeof fetch;
  private readonly resolved = new Map<string, Promise<string>>();
  private readonly redactor = new Redactor();

  constructor(private readonly deps: PrometheusQueryDeps) {
    this.fetch = deps.fetch ?? fetch;
  }

  async value(metric: AnalysisMetric, at: Date): Promise<number | null> {
    try {
      return await this.query(metric, at);
    } catch (error) {
      // A server may echo a header back (an error page quoting the request): no secret leaves in a message.
      if (error instanceof MetricQueryError) throw new MetricQueryError(this.redactor.redact(error.message));
      throw error;
    }
  }

  private async query(metric: AnalysisMetric, at: Date): Promise<number | null> {
    const provider = metric.provider;
    if (provider.kind !== 'prometheus') throw new MetricQueryError(`analysis metric ${metric.name}: the Prometheus adapter got a ${provider.kind} provider`);
    const url = new URL(`${provider.url.replace(/\/+$/, '')}/api/v1/query`);
    url.searchParams.set('query', provider.query);
    url.searchParams.set('time', (at.getTime() / 1000).toFixed(3));
    let headers: Record<string, string> = { accept: 'application/json', ...(await this.headers(metric.name, provider)) };
    if (provider.sigv4) {
      if (!this.deps.signer) throw new MetricQueryError(`analysis metric ${metric.name}: sigv4 signing needs AWS credentials, which a rehearsal does not use`);
      try {
        headers = await this.deps.signer({ url, headers });
      } catch (error) {
        // Credentials that cannot be loaded fail this measurement, not the task.
        throw new MetricQueryError(`analysis metric ${metric.name}: signing the query for Amazon Managed Service for Prometheus failed: ${(error as Error).message}`);
      }
    }
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, { headers, signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
      // The body can fail too: a dropped connection, or the timeout passing while it arrives.
      text = await response.text();
    } catch (error) {
      throw new MetricQueryError(`Prometheus at ${provider.url} did not answer: ${(error as Error).message}`);
    }
    let body: PrometheusResponse | null = null;
    try {
      body = JSON.parse(text) as PrometheusResponse;
    } catch {
      // Not JSON: answered below, as JSON that is not an object is.
    }
    if (body === null || typeof body !== 'object') {
      throw new MetricQueryError(`Prometheus at ${provider.url} answered ${response.status} without a query result: ${quote(text)}`);
    }
    if (body.status !== 'success') {
      const why = body.error ? `${body.errorType ?? 'error'}: ${body.error}` : quote(text);
      throw new MetricQueryError(`Prometheus refused the query (HTTP ${response.status}): ${why}`);
    }
    return numberOf(body.data, provider.query);
  }

  /** The provider's headers with their `{{secrets.NAME}}` expanded; each secret is read once per adapter. */
  private async headers(metric: string, provider: PrometheusProvider): Promise<Record<string, string>> {
    const entries = await Promise.all(
      Object.entries(provider.headers).map(async ([name, template]) => {
        let value = template;
        for (const match of template.matchAll(templatePattern())) {
          const secret = match[1] === 'secrets' ? match[2] : undefined;
          const ref = secret === undefined ? undefined : this.deps.secretRefs[secret];
          if (secret === undefined || ref === undefined) throw new MetricQueryError(`analysis metric ${metric}: header ${name} uses ${match[0]}, which is not a secret of analysis.secrets`);
          const resolved = await this.secret(secret, ref);
          // A function: a replacement string would read $$, $& and $' in the secret as patterns.
          value = value.replace(match[0], () => resolved);
        }
        return [name, value] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  private secret(name: string, ref: SecretRef): Promise<string> {
    let value = this.resolved.get(name);
    if (!value) {
      value = this.deps.secrets.resolve(ref).then(
        (secret) => {
          this.redactor.add(secret);
          return secret;
        },
        (error: unknown) => {
          this.resolved.delete(name);
          const why = error instanceof RunbookError ? error.message : 'it could not be read';
          throw new MetricQueryError(`analysis secret ${name}: ${why}`);
        },
      );
      this.resolved.set(name, value);
    }
    return value;
  }
}

interface PrometheusResponse {
  readonly status?: string;
  readonly errorType?: string;
  readonly error?: string;
  readonly data?: { readonly resultType?: string; readonly result?: unknown };
}

type Sample = readonly [number, string];

function numberOf(data: PrometheusResponse['data'], query: string): number | null {
  switch (data?.resultType) {
    case 'scalar':
      return sampleValue(data.result as Sample);
    case 'vector': {
      const series = data.result as { metric: Record<string, string>; value: Sample }[];
      if (series.length === 0) return null;
      if (series.length > 1) {
        const labels = series.slice(0, 3).map((one) => JSON.stringify(one.metric)).join(', ');
        throw new MetricQueryError(`the query answered ${series.length} series (${labels}${series.length > 3 ? ', …' : ''}); aggregate them to one, such as sum(…) or max(…): ${query}`);
      }
      return sampleValue(series[0].value);
    }
    default:
      throw new MetricQueryError(`the query answered a ${data?.resultType ?? 'missing'} result, not a number: make it an instant vector or a scalar (${query})`);
  }
}

function sampleValue(sample: Sample): number | null {
  const value = Number(sample[1]);
  return Number.isFinite(value) ? value : null;
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > MAX_QUOTED ? `${flat.slice(0, MAX_QUOTED)}…` : flat || '(empty body)';
}

/** SHA-256 for the signer, from node:crypto (the SDK's own hash package is not a dependency here). */
export class NodeSha256 {
  private hash;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
