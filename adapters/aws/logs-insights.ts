import { type CloudWatchLogsClient, GetQueryResultsCommand, StartQueryCommand, StopQueryCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { AnalysisMetric } from '../../config/schema';
import type { MetricQuery } from '../../core/ports/metric-query';
import { MetricQueryError } from '../../core/errors';

/** The IAM action behind each call LogsInsightsQuery makes (lib/task-permissions.ts grants from here). */
export const LOGS_INSIGHTS_IAM = {
  startQuery: 'logs:StartQuery',
  getQueryResults: 'logs:GetQueryResults',
  stopQuery: 'logs:StopQuery',
} as const;

export interface LogsInsightsOptions {
  /** Between two reads of a running query. @default 1000 */
  readonly pollMs?: number;
  /** A query still running after this is stopped and counts as an error. @default 30000 (EvaluateAlarms' Task allows 60 s) */
  readonly timeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A CloudWatch Logs Insights query as one number: run over the metric's window, the first numeric field of the
 * first row (`stats count()`). No row is no data: a count over no matching lines may answer none, so such a
 * metric says `noData: success`. A query CloudWatch Logs refuses, or one that fails or outlives the timeout, is a
 * MetricQueryError.
 */
export class LogsInsightsQuery implements MetricQuery {
  private readonly pollMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly logs: CloudWatchLogsClient,
    options: LogsInsightsOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async value(metric: AnalysisMetric, at: Date): Promise<number | null> {
    const provider = metric.provider;
    if (provider.kind !== 'logs') throw new MetricQueryError(`analysis metric ${metric.name}: the Logs Insights adapter got a ${provider.kind} provider`);
    const endTime = Math.floor(at.getTime() / 1000);
    const { queryId } = await this.call('StartQuery', () =>
      this.logs.send(new StartQueryCommand({ logGroupNames: provider.logGroupNames, queryString: provider.query, startTime: endTime - metric.windowSeconds, endTime, limit: 1 })),
    );
    if (!queryId) throw new MetricQueryError('CloudWatch Logs StartQuery answered no query id');
    for (let waited = 0; ; waited += this.pollMs) {
      const answer = await this.call('GetQueryResults', () => this.logs.send(new GetQueryResultsCommand({ queryId })));
      if (answer.status === 'Complete') return firstNumber(answer.results ?? []);
      if (answer.status !== 'Running' && answer.status !== 'Scheduled') throw new MetricQueryError(`the Logs Insights query ${queryId} ended ${answer.status ?? 'without a status'}`);
      if (waited >= this.timeoutMs) {
        await this.logs.send(new StopQueryCommand({ queryId })).catch(() => undefined);
        throw new MetricQueryError(`the Logs Insights query ${queryId} was still ${answer.status} after ${this.timeoutMs / 1000} s; it was stopped`);
      }
      await this.sleep(this.pollMs);
    }
  }

  private async call<T>(what: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new MetricQueryError(`CloudWatch Logs ${what} failed: ${(error as Error).name}: ${(error as Error).message}`);
    }
  }
}

/** The first field of the first row holding a number (`@ptr` and text fields are skipped). */
function firstNumber(rows: readonly (readonly { field?: string; value?: string }[])[]): number | null {
  const [row] = rows;
  if (!row) return null;
  for (const cell of row) {
    if (cell.field?.startsWith('@ptr') || cell.value === undefined || cell.value.trim() === '') continue;
    const value = Number(cell.value);
    if (Number.isFinite(value)) return value;
  }
  throw new MetricQueryError(`the Logs Insights query answered no number in its first row (fields ${row.map((cell) => cell.field).join(', ')}): end it with stats, such as "| stats count()"`);
}
