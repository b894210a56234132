import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { PostgresDatabase } from '../config/schema';
import { S3ArtifactStore } from '../adapters/aws/s3-artifact-store';
import { freePort } from '../local/free-port';
import { systemClock } from '../core/ports/clock';
import { FileArtifactStore } from '../adapters/local/file-artifact-store';
import { PgBackups } from '../adapters/local/pg-backups';
import { LocalPgPrograms, type PgPrograms } from '../adapters/local/pg-programs';
import { parsePostgresUrl, withClient, withDatabase } from '../adapters/local/pg-connection';
import { exitOf, programEnv } from '../local/postgres/process';
import { startPostgres } from '../local/postgres/server';

/** What one run measured; times are the best of `rounds`. */
export interface BackupThroughputResult {
  readonly dbBytes: number;
  readonly dumpBytes: number;
  /** `pg_dump -Fc > /dev/null`: the floor no backup can beat. */
  readonly pgDumpMs: number;
  /** `PgBackups.create` into a FileArtifactStore: the same dump, hashed and stored. */
  readonly storeMs: number;
  /** storeMs / pgDumpMs: the cost of streaming into the store. */
  readonly ratio: number;
  /** `PgBackups.create` into an S3ArtifactStore on moto (multipart upload on 127.0.0.1): the AWS backup task's pipeline. */
  readonly s3Ms: number;
  /** s3Ms / pgDumpMs. */
  readonly s3Ratio: number;
  /** pg_dump's throughput divided by the S3 backup's (pgDumpMs / s3Ms): the target is >= 0.9. */
  readonly s3Throughput: number;
  /** In the fastest S3 round: from pg_dump's exit to the backup's end (last parts, table-of-contents listing, CompleteMultipartUpload, meta). */
  readonly s3AfterDumpMs: number;
  /** In the fastest S3 round: how long moto took to answer CompleteMultipartUpload (it assembles and copies the object). */
  readonly s3CompleteMs: number;
  /**
   * pgDumpMs / (pgDumpMs + s3CompleteMs): the throughput no pipeline can exceed against this moto, even one costing
   * nothing while pg_dump runs, since CompleteMultipartUpload can only be sent after the dump's last byte.
   */
  readonly s3CeilingAgainstMoto: number;
  /** CPU time in the fastest S3 round, in ms: this process (sha256 of the stream, part checksums, HTTP) and moto's server. */
  readonly s3CpuMs: { readonly pipeline: number; readonly moto: number };
  /** Growth of this process's resident memory during the S3 backups, in MB (the target is < 100). */
  readonly s3RssGrowthMb: number;
  /** The machine's 1-minute load average when the timings started and when they ended, and its CPUs: how quiet the run was. */
  readonly load: { readonly start: number; readonly end: number; readonly cpus: number };
}

/** Size and repetitions of a run; the environment variables apply when standalone. */
export interface BackupThroughputOptions {
  /** Table data to generate. @default BENCH_BACKUP_MB or 300 MB */
  readonly targetBytes?: number;
  /** @default BENCH_BACKUP_ROUNDS or 3 */
  readonly rounds?: number;
  readonly log?: (line: string) => void;
}

const MB = 1024 * 1024;
const SAMPLE_ROWS = 20_000;

/**
 * Measures what storing a pre-deploy backup costs over pg_dump alone, on one throwaway database of a
 * few hundred MB. Prints a JSON line and a readable line, and returns the figures.
 */
export async function run(options: BackupThroughputOptions = {}): Promise<BackupThroughputResult> {
  const targetBytes = options.targetBytes ?? Number(process.env.BENCH_BACKUP_MB ?? 300) * MB;
  const rounds = options.rounds ?? Number(process.env.BENCH_BACKUP_ROUNDS ?? 3);
  const log = options.log ?? ((line: string) => console.log(line));
  const server = await startPostgres();
  const storeRoot = await mkdtemp(join(tmpdir(), 'bench-backup-'));
  try {
    await withClient(server.url, (client) => client.query('CREATE DATABASE bench'));
    const url = withDatabase(server.url, 'bench');
    const dbBytes = await generate(url, targetBytes);
    const backups = new PgBackups(PostgresDatabase.parse({ kind: 'postgres' }), {
      url,
      target: 'bench',
      store: new FileArtifactStore(storeRoot),
      clock: systemClock,
      binDir: server.binDir,
    });

    const loadAtStart = loadavg()[0];
    const pgDumpMs = await best(rounds, () => dumpToDevNull(join(server.binDir, 'pg_dump'), url));
    let dumpBytes = 0;
    const storeMs = await best(rounds, async (round) => {
      const snapshot = await backups.create(`bench-${round}`, {});
      dumpBytes = snapshot.sizeBytes ?? 0;
    });

    const s3 = await s3Backups(url, server.binDir);
    let s3RssGrowthMb = 0;
    let s3Ms: number;
    let phases = { s3AfterDumpMs: 0, s3CompleteMs: 0, s3CpuMs: { pipeline: 0, moto: 0 } };
    try {
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 20);
      let s3AfterDumpMs = 0;
      let s3CompleteMs = 0;
      let s3CpuMs = { pipeline: 0, moto: 0 };
      try {
        let fastest = Number.POSITIVE_INFINITY;
        s3Ms = await best(rounds, async (round) => {
          const started = performance.now();
          const cpuBefore = process.cpuUsage();
          const motoBefore = cpuMsOf(s3.pid);
          const snapshot = await s3.backups.create(`bench-s3-${round}`, {});
          const ended = performance.now();
          const cpu = process.cpuUsage(cpuBefore);
          const motoCpu = cpuMsOf(s3.pid) - motoBefore;
          if (snapshot.sizeBytes !== dumpBytes && Math.abs((snapshot.sizeBytes ?? 0) - dumpBytes) > dumpBytes / 100) {
            throw new Error(`the S3 dump has ${snapshot.sizeBytes} bytes, the file dump ${dumpBytes}`);
          }
          if (ended - started < fastest) {
            fastest = ended - started;
            s3AfterDumpMs = Math.round(ended - s3.phases.dumpExitedAt);
            s3CompleteMs = Math.round(s3.phases.completeMs);
            s3CpuMs = { pipeline: Math.round((cpu.user + cpu.system) / 1000), moto: motoCpu };
          }
        });
      } finally {
        clearInterval(sampler);
      }
      s3RssGrowthMb = Math.round((peak - baseline) / MB);
      phases = { s3AfterDumpMs, s3CompleteMs, s3CpuMs };
    } finally {
      await s3.stop();
    }

    const result: BackupThroughputResult = {
      dbBytes,
      dumpBytes,
      pgDumpMs,
      storeMs,
      ratio: Number((storeMs / pgDumpMs).toFixed(3)),
      s3Ms,
      s3Ratio: Number((s3Ms / pgDumpMs).toFixed(3)),
      s3Throughput: Number((pgDumpMs / s3Ms).toFixed(3)),
      s3AfterDumpMs: phases.s3AfterDumpMs,
      s3CompleteMs: phases.s3CompleteMs,
      s3CeilingAgainstMoto: Number((pgDumpMs / (pgDumpMs + phases.s3CompleteMs)).toFixed(3)),
      s3CpuMs: phases.s3CpuMs,
      s3RssGrowthMb,
      load: { start: Number(loadAtStart.toFixed(2)), end: Number(loadavg()[0].toFixed(2)), cpus: cpus().length },
    };
    log(JSON.stringify({ bench: 'backup-throughput', ...result }));
    log(
      `backup-throughput: ${(dbBytes / MB).toFixed(0)} MB database -> ${(dumpBytes / MB).toFixed(0)} MB dump; ` +
        `pg_dump > /dev/null ${(pgDumpMs / 1000).toFixed(2)} s (${rate(dbBytes, pgDumpMs)}), ` +
        `PgBackups.create ${(storeMs / 1000).toFixed(2)} s (${rate(dbBytes, storeMs)}), ${result.ratio}x pg_dump alone (best of ${rounds})`,
    );
    log(
      `backup-throughput (S3 multipart on moto): PgBackups.create ${(s3Ms / 1000).toFixed(2)} s (${rate(dbBytes, s3Ms)}), ` +
        `throughput ${result.s3Throughput}x pg_dump > /dev/null, RSS growth ${s3RssGrowthMb} MB (best of ${rounds}); ` +
        `after pg_dump exited ${(result.s3AfterDumpMs / 1000).toFixed(2)} s, of which moto's CompleteMultipartUpload ${(result.s3CompleteMs / 1000).toFixed(2)} s ` +
        `(so at most ${result.s3CeilingAgainstMoto}x against this moto); CPU: this process ${(result.s3CpuMs.pipeline / 1000).toFixed(2)} s, moto ${(result.s3CpuMs.moto / 1000).toFixed(2)} s; ` +
        `load average ${result.load.start} -> ${result.load.end} on ${result.load.cpus} CPUs`,
    );
    return result;
  } finally {
    await server.stop();
    await rm(storeRoot, { recursive: true, force: true });
  }
}

/**
 * Fills an `events` table until its data reaches `targetBytes`: a sample sets the row size, then one
 * insert adds the rest. Payloads are half random, half repeated, so the dump compresses as real data does.
 * Returns pg_database_size afterwards.
 */
async function generate(url: string, targetBytes: number): Promise<number> {
  return withClient(url, async (client) => {
    await client.query('CREATE TABLE events (id bigint PRIMARY KEY, created_at timestamptz NOT NULL, kind text NOT NULL, payload text NOT NULL)');
    const insert = (from: number, to: number) =>
      client.query(
        `INSERT INTO events SELECT g, timestamptz '2025-01-01' + g * interval '1 second', (ARRAY['order', 'refund', 'login', 'view'])[1 + g % 4],
                md5(random()::text) || md5(g::text) || repeat('x', 64)
         FROM generate_series($1::bigint, $2::bigint) g`,
        [from, to],
      );
    await insert(1, SAMPLE_ROWS);
    const { rows: sample } = await client.query<{ size: string }>("SELECT pg_table_size('events')::text AS size");
    const rows = Math.max(SAMPLE_ROWS, Math.ceil((targetBytes / Number(sample[0].size)) * SAMPLE_ROWS));
    if (rows > SAMPLE_ROWS) await insert(SAMPLE_ROWS + 1, rows);
    await client.query('VACUUM ANALYZE events');
    const { rows: size } = await client.query<{ size: string }>('SELECT pg_database_size(current_database())::text AS size');
    return Number(size[0].size);
  });
}

/**
 * PgBackups storing into an S3ArtifactStore on a plain moto server on 127.0.0.1: the pipeline the AWS backup
 * task runs (pg_dump stream → sha256 and part checksums → multipart upload, pg_restore --list of the dump's head
 * before the commit). `phases` observes it without changing it: when pg_dump exited, how long the last completion took.
 */
async function s3Backups(url: string, binDir: string): Promise<{ backups: PgBackups; phases: { dumpExitedAt: number; completeMs: number }; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    moto.kill();
    await exitOf(moto).catch(() => undefined);
  };
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
      } catch {
        if (attempt > 200) throw new Error(`moto did not start on ${endpoint}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    const client = new S3Client({ endpoint, forcePathStyle: true, region: 'eu-west-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    await client.send(new CreateBucketCommand({ Bucket: 'bench-artifacts', CreateBucketConfiguration: { LocationConstraint: 'eu-west-1' } }));
    const phases = { dumpExitedAt: 0, completeMs: 0 };
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'CompleteMultipartUploadCommand') return next(args);
        const started = performance.now();
        try {
          return await next(args);
        } finally {
          phases.completeMs = performance.now() - started;
        }
      },
      { step: 'initialize', name: 'benchCompleteTimer' },
    );
    const local = new LocalPgPrograms(binDir);
    const programs: PgPrograms = {
      where: local.where,
      dump: (source) => {
        const running = local.dump(source);
        void running.exit.then(() => (phases.dumpExitedAt = performance.now()), () => undefined);
        return running;
      },
      restore: (input, into) => local.restore(input, into),
      list: (input) => local.list(input),
    };
    const backups = new PgBackups(PostgresDatabase.parse({ kind: 'postgres' }), {
      url,
      target: 'bench',
      store: new S3ArtifactStore(client, 'bench-artifacts'),
      clock: systemClock,
      programs,
    });
    return { backups, phases, pid: moto.pid ?? 0, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function dumpToDevNull(pgDump: string, url: string): Promise<void> {
  const { safeUrl, password } = parsePostgresUrl(url);
  const devNull = await open('/dev/null', 'w');
  try {
    const child = spawn(pgDump, ['--format=custom', '--no-password', `--dbname=${safeUrl}`], { env: programEnv({ PGPASSWORD: password }), stdio: ['ignore', devNull.fd, 'inherit'] });
    const exit = await exitOf(child);
    if (exit.code !== 0) throw new Error(`pg_dump exited with ${exit.code ?? exit.signal}`);
  } finally {
    await devNull.close();
  }
}

/** Fastest of `rounds` runs, in milliseconds: the least disturbed by the rest of the machine. */
/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux; 0 elsewhere). */
function cpuMsOf(pid: number): number {
  try {
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th, in clock ticks (100/s).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

async function best(rounds: number, work: (round: number) => Promise<void>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let round = 1; round <= rounds; round++) {
    const start = performance.now();
    await work(round);
    fastest = Math.min(fastest, performance.now() - start);
  }
  return Math.round(fastest);
}

function rate(bytes: number, ms: number): string {
  return `${(bytes / MB / (ms / 1000)).toFixed(0)} MB/s`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
