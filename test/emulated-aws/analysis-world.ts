import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { EmulatedAws } from './emulated-aws';
import { APS_WORKSPACE_URL, LOG_GROUP, METRIC_NAMESPACE, PROMETHEUS_HOST, PROMETHEUS_PORT, PROMETHEUS_SECRET } from './stacks';

const loopback = () => `127.${randomInt(1, 255)}.${randomInt(0, 255)}.${randomInt(1, 255)}`;

/**
 * The team's Prometheus as the analysis stack queries it: `/api/v1/query` on the emulated network, answering only
 * with the bearer token kept in Secrets Manager, the p95 latency of whichever version the ECS service runs.
 */
export class FakePrometheus {
  readonly address = loopback();
  /** The token in Secrets Manager; a canary: it must never appear in an output. */
  readonly token = `prom-${randomBytes(12).toString('hex')}`;
  readonly queries: { readonly query: string; readonly authorized: boolean; readonly version: string }[] = [];
  /** Seconds of p95 latency by image tag. */
  latency: Readonly<Record<string, number>> = {};
  private server?: Server;

  constructor(private readonly servingVersion: () => Promise<string>) {}

  /** The names the functions resolve: this server, and the managed workspace on an address where nothing listens. */
  static hosts(prometheus: FakePrometheus): Record<string, string> {
    return { [PROMETHEUS_HOST]: prometheus.address, [new URL(APS_WORKSPACE_URL).hostname]: loopback() };
  }

  async listen(): Promise<void> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: Error) => response.writeHead(500).end(error.message));
    });
    await new Promise<void>((resolve) => this.server?.listen(PROMETHEUS_PORT, this.address, resolve));
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', `http://${PROMETHEUS_HOST}`);
    const authorized = request.headers.authorization === `Bearer ${this.token}`;
    const version = await this.servingVersion();
    const query = url.searchParams.get('query') ?? '';
    this.queries.push({ query, authorized, version });
    if (url.pathname !== '/api/v1/query') return void response.writeHead(404).end('not found');
    // What an authenticating proxy in front of Prometheus answers.
    if (!authorized) return void response.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized');
    const value = this.latency[version];
    const result = value === undefined ? [] : [{ metric: {}, value: [Number(url.searchParams.get('time')), String(value)] }];
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result } }));
  }
}

/** What the analysis metrics read in moto, written as the operator (the world's resources are not the runbook's). */
export function analysisWorld(aws: EmulatedAws) {
  const cloudwatch = new CloudWatchClient(aws.operator.config);
  const logs = new CloudWatchLogsClient(aws.operator.config);
  const stream = 'api/api/1';
  return {
    /** The token secret, traffic before the deploy (0.1 % 5xx), and the log group with INFO lines unless `logGroup` is false. */
    async create(prometheus: FakePrometheus, options: { logGroup?: boolean } = {}): Promise<void> {
      await new SecretsManagerClient(aws.operator.config).send(new CreateSecretCommand({ Name: PROMETHEUS_SECRET, SecretString: JSON.stringify({ token: prometheus.token }) }));
      await this.traffic(1, 1000, 60);
      if (options.logGroup === false) return;
      await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }));
      await logs.send(new CreateLogStreamCommand({ logGroupName: LOG_GROUP, logStreamName: stream }));
      await this.log(['INFO GET /health 200', 'INFO POST /api/auth/login 200']);
    },
    /**
     * 5xx and requests the service counted `secondsAgo` seconds ago. moto drops a datapoint of the second a
     * query ends in (it truncates EndTime), so data is never stamped now.
     */
    async traffic(errors: number, requests: number, secondsAgo = 5): Promise<void> {
      const Timestamp = new Date(Date.now() - secondsAgo * 1000);
      const Dimensions = [{ Name: 'Service', Value: 'shop-api' }];
      await cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: METRIC_NAMESPACE,
          MetricData: [
            { MetricName: 'Errors5xx', Dimensions, Value: errors, Unit: 'Count', Timestamp },
            { MetricName: 'Requests', Dimensions, Value: requests, Unit: 'Count', Timestamp },
          ],
        }),
      );
    },
    /** Lines the service wrote a couple of seconds ago. */
    async log(lines: readonly string[]): Promise<void> {
      const timestamp = Date.now() - 2000;
      await logs.send(new PutLogEventsCommand({ logGroupName: LOG_GROUP, logStreamName: stream, logEvents: lines.map((message) => ({ timestamp, message })) }));
    },
  };
}
