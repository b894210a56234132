import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { DatabaseConfig } from '../../config/schema';
import type { ArtifactStore, StreamedObject } from '../../core/ports/artifact-store';
import type { Clock } from '../../core/ports/clock';
import type { DatabaseBackups, SnapshotQuota } from '../../core/ports/database-backups';
import { SnapshotFailedError } from '../../core/errors';
import type { DatabaseInfo, SnapshotRef } from '../../core/model';
import { type DumpListing, listDump } from '../../local/postgres/dump-listing';
import { BackupMeta, describeConnected, snapshotOfMeta } from './pg-backup-meta';
import { tail } from '../../local/postgres/process';
import { parsePostgresUrl, type PostgresUrl, redact, withClient } from './pg-connection';
import { LocalPgPrograms, type PgPrograms } from './pg-programs';

/** The `postgres` database configuration (the rehearsal's). */
export type PostgresDatabaseConfig = Extract<DatabaseConfig, { kind: 'postgres' }>;

/** What PgBackups dumps, where it stores the dumps, and with which programs. */
export interface PgBackupsOptions {
  /** Connection URL of the database to back up; its password never reaches a command line or a message. */
  readonly url: string;
  /** The runbook target's name: dumps go under `backups/<target>/`. */
  readonly target: string;
  readonly store: ArtifactStore;
  readonly clock: Clock;
  /** Where pg_dump and pg_restore are. @default the newest installed PostgreSQL */
  readonly binDir?: string;
  /** The programs that dump and list. @default LocalPgPrograms of `binDir` (the backup task on AWS passes its sidecar's) */
  readonly programs?: PgPrograms;
}

/**
 * The dump's first bytes, kept while it streams so that pg_restore lists its table of contents (written first by
 * pg_dump -Fc) before the store commits it. A table of contents larger than this is listed from the stored object.
 */
export const LISTED_HEAD_BYTES = 8 * 1024 * 1024;

/** Snapshot ids become file names in the store: one path segment, nothing a shell or a path would read. */
const SNAPSHOT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/**
 * Pre-deploy backups of a PostgreSQL database: `pg_dump -Fc` streamed into the artifact store at
 * `backups/<target>/<snapshotId>.dump`, with a `.meta.json` sidecar holding its size and sha256.
 */
export class PgBackups implements DatabaseBackups {
  private readonly connection: PostgresUrl;
  private readonly programs: PgPrograms;

  constructor(
    database: PostgresDatabaseConfig,
    private readonly options: PgBackupsOptions,
  ) {
    this.connection = parsePostgresUrl(options.url, `the URL in ${database.urlEnv}`);
    this.programs = options.programs ?? new LocalPgPrograms(options.binDir);
  }

  async describe(): Promise<DatabaseInfo> {
    return withClient(this.options.url, describeConnected);
  }

  /** A local server has no snapshot quota. */
  async quota(): Promise<SnapshotQuota | null> {
    return null;
  }

  async find(snapshotId: string): Promise<SnapshotRef | undefined> {
    const meta = await this.readMeta(snapshotId);
    return meta && this.refOf(meta);
  }

  /**
   * Dumps the database now and returns it `available`; an id already available is returned as it is,
   * and an incomplete or failed one is dumped again.
   */
  async create(snapshotId: string, tags: Record<string, string>): Promise<SnapshotRef> {
    const existing = await this.readMeta(snapshotId);
    if (existing?.status === 'available') return this.refOf(existing);

    const started: BackupMeta = {
      snapshotId,
      status: 'creating',
      source: this.connection.database,
      bytes: null,
      sha256: null,
      startedAt: this.options.clock.now().toISOString(),
      completedAt: null,
      tags,
      error: null,
      verification: [],
    };
    await this.writeMeta(started);
    try {
      const key = this.dumpKey(snapshotId);
      const { stored, listed } = await this.dumpInto(key);
      // A table of contents too large for the kept head is read back from the store: pg_restore reads only that part.
      const listing = listed ?? (await listDump(this.programs, await this.options.store.getStream(key), `dump ${this.options.store.locate(key)}`, SnapshotFailedError));
      const done: BackupMeta = {
        ...started,
        status: 'available',
        bytes: stored.bytes,
        sha256: stored.sha256,
        completedAt: this.options.clock.now().toISOString(),
        verification: [
          `sha256 computed while streaming ${stored.bytes} bytes`,
          ...(stored.integrity ? [stored.integrity] : []),
          `pg_restore --list of the ${listed ? 'dump before the store committed it' : 'stored dump'}: ${listing.entries} entries, ${listing.tables} tables, ${listing.tableData} with data`,
        ],
      };
      await this.writeMeta(done);
      return this.refOf(done);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await this.writeMeta({ ...started, status: 'failed', error: message });
      throw error instanceof SnapshotFailedError ? error : new SnapshotFailedError(message, { cause: error });
    }
  }

  /** Re-reads the stored dump: its sha256 must match, and pg_restore must list table data in it. */
  async verify(snapshot: SnapshotRef, source: DatabaseInfo): Promise<string[]> {
    if (snapshot.kind !== 'postgres' || snapshot.location === null || snapshot.checksum === null) {
      throw new SnapshotFailedError(`snapshot ${snapshot.id} is not a stored pg_dump (kind ${snapshot.kind}, location ${snapshot.location}, checksum ${snapshot.checksum})`);
    }
    if (snapshot.source !== source.identifier) {
      throw new SnapshotFailedError(`snapshot ${snapshot.id} is a dump of database "${snapshot.source}", not of "${source.identifier}"`);
    }
    const actual = await sha256Of(await this.options.store.getStream(snapshot.location));
    if (actual !== snapshot.checksum) {
      throw new SnapshotFailedError(`dump ${snapshot.location} has sha256 ${actual}, expected ${snapshot.checksum}: it changed after it was taken`);
    }
    const listing = await listDump(this.programs, await this.options.store.getStream(snapshot.location), `dump ${snapshot.location}`, SnapshotFailedError);
    if (listing.tableData === 0) {
      throw new SnapshotFailedError(`dump ${snapshot.location} holds no table data (pg_restore --list: ${listing.entries} entries, ${listing.tables} tables)`);
    }
    return ['sha256 matches', `pg_restore --list: ${listing.entries} entries, ${listing.tables} tables`];
  }

  /**
   * Streams pg_dump's output into the store; the dump never sits in memory. The store commits the object
   * only once pg_dump has exited 0 and pg_restore has listed the table of contents at the head of the dump:
   * a dump cut short by a failure, or one pg_restore cannot read, is never stored as if it were whole.
   * `listed` is undefined when the table of contents reaches beyond LISTED_HEAD_BYTES.
   */
  private async dumpInto(key: string): Promise<{ stored: StreamedObject; listed: DumpListing | undefined }> {
    const dump = this.programs.dump(this.connection);
    const secrets = [this.connection.password];
    const exit = dump.exit.then(
      (ended) => ({ ended }),
      (error: unknown) => ({ error }),
    );
    const head: Buffer[] = [];
    let headBytes = 0;
    let dumpBytes = 0;
    async function* keepingHead(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        dumpBytes += chunk.length;
        if (headBytes < LISTED_HEAD_BYTES) {
          const kept = chunk.subarray(0, LISTED_HEAD_BYTES - headBytes);
          head.push(kept);
          headBytes += kept.length;
        }
        yield chunk;
      }
    }
    let listed: DumpListing | undefined;
    const dumpSucceeded = async () => {
      const outcome = await exit;
      if ('error' in outcome) throw new SnapshotFailedError(`could not run pg_dump (${this.programs.where}): ${redact(errorText(outcome.error), secrets)}`);
      const { ended } = outcome;
      if (ended.code !== 0) {
        const why = tail(redact(ended.stderr, secrets)) || 'no output';
        throw new SnapshotFailedError(`pg_dump of database "${this.connection.database}" exited with ${ended.code ?? ended.signal}: ${why}`);
      }
      const whole = headBytes === dumpBytes;
      try {
        listed = await listDump(this.programs, Readable.from(head, { objectMode: false }), `dump ${this.options.store.locate(key)}`, SnapshotFailedError);
      } catch (error) {
        // Only a head that is the whole dump says the dump is unreadable; otherwise the table of contents may go on.
        if (whole) throw error;
      }
    };
    try {
      const body = Readable.from(keepingHead(dump.output), { objectMode: false });
      const stored = await this.options.store.putStream(key, body, { contentType: 'application/octet-stream', beforeCommit: dumpSucceeded });
      return { stored, listed };
    } catch (error) {
      // A store that fails mid-way must not leave pg_dump blocked on a full pipe.
      dump.stop();
      if (error instanceof SnapshotFailedError) throw error;
      throw new SnapshotFailedError(`storing the dump of "${this.connection.database}" at ${key} failed: ${redact(errorText(error), secrets)}`, { cause: error });
    }
  }

  private refOf(meta: BackupMeta): SnapshotRef {
    return snapshotOfMeta(meta, this.dumpKey(meta.snapshotId));
  }

  private async readMeta(snapshotId: string): Promise<BackupMeta | undefined> {
    const stored = await this.options.store.get(this.metaKey(snapshotId));
    if (!stored) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(stored.body.toString('utf8'));
    } catch (error) {
      throw new SnapshotFailedError(`backup meta ${this.metaKey(snapshotId)} is not JSON: ${errorText(error)}`);
    }
    const parsed = BackupMeta.safeParse(json);
    if (!parsed.success) throw new SnapshotFailedError(`backup meta ${this.metaKey(snapshotId)} is not readable: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    return parsed.data;
  }

  private async writeMeta(meta: BackupMeta): Promise<void> {
    await this.options.store.put(this.metaKey(meta.snapshotId), `${JSON.stringify(meta, null, 2)}\n`, { contentType: 'application/json' });
  }

  private dumpKey(snapshotId: string): string {
    return `${this.prefix(snapshotId)}.dump`;
  }

  private metaKey(snapshotId: string): string {
    return `${this.prefix(snapshotId)}.meta.json`;
  }

  private prefix(snapshotId: string): string {
    if (!SNAPSHOT_ID.test(snapshotId)) throw new SnapshotFailedError(`snapshot id "${snapshotId}" cannot name a dump file: use letters, digits, . _ -`);
    return `backups/${this.options.target}/${snapshotId}`;
  }
}

/** Hex sha256 of a stream, read chunk by chunk. */
export async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
