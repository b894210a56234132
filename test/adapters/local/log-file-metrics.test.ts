import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogFileMetrics } from '../../../adapters/local/log-file-metrics';
import { MetricQueryError } from '../../../core/errors';
import { analysisMetric } from '../../support/metric-queries';

const AT = new Date('2025-03-14T09:30:00.000Z');

/** The app's log around a 5-minute window ending at AT (09:25:00, exclusive, to 09:30:00). */
const LOG = [
  '2025-03-14T09:24:59.999Z ERROR before the window',
  '2025-03-14T09:25:00.000Z ERROR at the start of the window, which is outside it',
  '2025-03-14T09:25:00.001Z ERROR just inside',
  '2025-03-14T09:27:00.000Z INFO GET /health 200',
  '[2025-03-14T09:28:00Z] ERROR in brackets',
  '2025-03-14T10:29:00+01:00 ERROR with an offset, 09:29 UTC',
  '2025-03-14T10:29:30+0100 ERROR with an offset without a colon',
  'ERROR without a time: not counted',
  '  at Object.<anonymous> (/app/server.js:12:3) ERROR in a stack trace line',
  '2025-03-14T09:30:00.000Z ERROR at the measurement',
  '2025-03-14T09:30:00.001Z ERROR after the measurement',
  '',
].join('\n');

let workdir: string;
beforeAll(async () => {
  workdir = await mkdtemp(join(tmpdir(), 'log-file-metrics-'));
  await writeFile(join(workdir, 'app.log'), LOG);
  await writeFile(join(workdir, 'crlf.log'), '2025-03-14T09:29:00Z ERROR one\r\n2025-03-14T09:29:01Z ERROR two\r\n');
  await writeFile(join(workdir, 'local-time.log'), '2025-03-14 09:29:00,123 ERROR token=s3cr3t refused\n2025-03-14T09:29:30.000 ERROR no zone\n');
  await writeFile(join(workdir, 'empty.log'), '');
});
afterAll(() => rm(workdir, { recursive: true, force: true }));

function logFile(path: string, pattern = 'ERROR', windowSeconds = 300) {
  return analysisMetric({ name: 'log-errors', provider: { kind: 'log-file', path, pattern }, successCondition: undefined, failureCondition: 'result > 0', windowSeconds });
}

describe('LogFileMetrics', () => {
  it('counts the matching lines whose leading time falls in the window ending at the measurement', async () => {
    expect(await new LogFileMetrics(workdir).value(logFile('app.log'), AT)).toBe(5);
  });

  it('counts only the lines the pattern matches', async () => {
    expect(await new LogFileMetrics(workdir).value(logFile('app.log', 'GET /health \\d{3}'), AT)).toBe(1);
    expect(await new LogFileMetrics(workdir).value(logFile('app.log', 'FATAL'), AT)).toBe(0);
  });

  it('narrows to the window it is given', async () => {
    expect(await new LogFileMetrics(workdir).value(logFile('app.log', 'ERROR', 60), AT)).toBe(2);
  });

  it('reads an absolute path as it is, and lines ending in CRLF', async () => {
    expect(await new LogFileMetrics('/nonexistent').value(logFile(join(workdir, 'crlf.log'), 'ERROR (one|two)$'), AT)).toBe(2);
  });

  it('counts nothing in an empty log: the app has not written yet', async () => {
    expect(await new LogFileMetrics(workdir).value(logFile('empty.log'), AT)).toBe(0);
  });

  it('fails when no line starts with a time it can place, rather than reading the log as free of errors', async () => {
    const error = await new LogFileMetrics(workdir).value(logFile('local-time.log'), AT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricQueryError);
    expect((error as Error).message).toBe(
      `log file ${join(workdir, 'local-time.log')}: none of its 2 line(s) starts with an ISO 8601 time with a zone, such as 2025-03-14T09:30:00Z or [2025-03-14T10:30:00+01:00], so none can be placed in the window`,
    );
    expect((error as Error).message).not.toContain('s3cr3t');
  });

  it('fails when the file does not exist, naming the path', async () => {
    const error = await new LogFileMetrics(workdir).value(logFile('logs/missing.log'), AT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricQueryError);
    expect((error as Error).message).toBe(`log file ${join(workdir, 'logs/missing.log')}: does not exist`);
  });

  it('fails when the path is a directory, naming it', async () => {
    const error = await new LogFileMetrics(workdir).value(logFile('.'), AT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MetricQueryError);
    expect((error as Error).message).toMatch(new RegExp(`^log file ${workdir}: .*EISDIR`));
  });

  it('refuses a metric of another provider', async () => {
    await expect(new LogFileMetrics(workdir).value(analysisMetric(), AT)).rejects.toThrow(new MetricQueryError('analysis metric p95: the log-file adapter got a prometheus provider'));
  });
});
