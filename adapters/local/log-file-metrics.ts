import { createReadStream } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { AnalysisMetric } from '../../config/schema';
import type { MetricQuery } from '../../core/ports/metric-query';
import { MetricQueryError } from '../../core/errors';

/** An ISO 8601 time at the start of a line, optionally in brackets: `2026-12-06T10:00:00.123Z …`. */
const LEADING_TIME = /^\[?(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))/;

/**
 * The rehearsal's log metric: lines of a local log file whose leading time falls in the metric's window
 * (ending at the measurement) and that match its pattern, counted. A file that does not exist, or whose lines
 * all lack such a time, is an error naming it: a misspelt path or another log format must not read as "no errors".
 */
export class LogFileMetrics implements MetricQuery {
  /** @param workdir relative paths are read from here (the rehearsal's working directory). */
  constructor(private readonly workdir: string) {}

  async value(metric: AnalysisMetric, at: Date): Promise<number | null> {
    const provider = metric.provider;
    if (provider.kind !== 'log-file') throw new MetricQueryError(`analysis metric ${metric.name}: the log-file adapter got a ${provider.kind} provider`);
    const path = isAbsolute(provider.path) ? provider.path : resolve(this.workdir, provider.path);
    const pattern = new RegExp(provider.pattern);
    const until = at.getTime();
    const from = until - metric.windowSeconds * 1000;
    let count = 0;
    let lines = 0;
    let timed = 0;
    const stream = createReadStream(path, { encoding: 'utf8' });
    try {
      for await (const line of createInterface({ input: stream, crlfDelay: Infinity })) {
        if (line.trim() !== '') lines += 1;
        const time = LEADING_TIME.exec(line);
        if (!time) continue;
        timed += 1;
        const ms = Date.parse(time[1]);
        if (ms > from && ms <= until && pattern.test(line)) count += 1;
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new MetricQueryError(`log file ${path}: ${code === 'ENOENT' ? 'does not exist' : (error as Error).message}`);
    } finally {
      stream.destroy();
    }
    // A log in another time format would otherwise read as free of errors for ever.
    if (lines > 0 && timed === 0) {
      throw new MetricQueryError(
        `log file ${path}: none of its ${lines} line(s) starts with an ISO 8601 time with a zone, such as 2025-03-14T09:30:00Z or [2025-03-14T10:30:00+01:00], so none can be placed in the window`,
      );
    }
    return count;
  }
}
