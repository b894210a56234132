import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { ArtifactStore } from '../../core/ports/artifact-store';
import type { Clock } from '../../core/ports/clock';
import type { DatabaseRestorer, ScratchRestorer } from '../../core/ports/database-restorer';
import { DRILL_SUFFIX, isDrillCopyName } from '../../core/restore-drill';
import { RestoreFailedError } from '../../core/errors';
import type { RestoreState, SnapshotRef } from '../../core/model';
import { listDump } from '../../local/postgres/dump-listing';
import { boundedIdentifier, compactTimestamp, fromCompactTimestamp } from '../../local/postgres/identifiers';
import { tail } from '../../local/postgres/process';
import { type PostgresDatabaseConfig, sha256Of } from './pg-backups';
import { parsePostgresUrl, type PostgresUrl, redact, withClient, withDatabase } from './pg-connection';
import { LocalPgPrograms, type PgPrograms } from './pg-programs';

/** What PgRestorer restores, where the dumps are, and with which programs. */
export interface PgRestorerOptions {
  /** Connection URL of the database to restore (the name the application uses). */
  readonly url: string;
  readonly store: ArtifactStore;
  readonly clock: Clock;
  /** Where pg_restore is. @default the newest installed PostgreSQL */
  readonly binDir?: string;
  /** The programs that restore and list. @default LocalPgPrograms of `binDir` (the restore task on AWS passes its sidecar's) */
  readonly programs?: PgPrograms;
  /** How long the swap waits for terminated sessions to go away. @default 10 s */
  readonly drainTimeoutMs?: number;
}

/** The step each call performs, in order; `phase` in the state names the next one. */
export const RESTORE_STEPS = ['create-scratch', 'restore', 'swap', 'verify'] as const;
/** One of RESTORE_STEPS. */
export type RestoreStep = (typeof RESTORE_STEPS)[number];
/** A restore drill's steps: the same first two, no swap: the copy stays beside the live database until it is discarded. */
export const DRILL_STEPS = ['create-scratch', 'restore'] as const satisfies readonly RestoreStep[];

/** A restore that replaces the live database, or a drill's copy beside it. */
type Purpose = 'swap' | 'drill';
const PURPOSES: Record<Purpose, { readonly steps: readonly RestoreStep[]; readonly suffix: string; readonly marker: string }> = {
  swap: { steps: RESTORE_STEPS, suffix: '_restore_', marker: 'deploy-runbook restore of ' },
  drill: { steps: DRILL_STEPS, suffix: DRILL_SUFFIX, marker: 'deploy-runbook drill of ' },
};

/** What pg_database shows of this restore: the truth a re-run converges from. */
type Progress = 'none' | 'created' | 'restored' | 'swapped';

/** Where the admin session (CREATE, RENAME, terminate) connects: never a database it renames. */
const MAINTENANCE_DATABASE = 'postgres';

interface Plan {
  readonly snapshot: SnapshotRef;
  readonly location: string;
  readonly checksum: string;
  /** The database the application uses. */
  readonly database: string;
  /** `<db>_restore_<ts>`: where the dump is restored before the swap (a drill: `<db>_drill_<ts>`, never swapped). */
  readonly scratch: string;
  /** `<db>_failed_<ts>`: where the database being replaced is kept. */
  readonly failed: string;
  /** Database comment marking the scratch as ours: `… created` before the restore, `… restored` after. */
  readonly marker: { readonly created: string; readonly restored: string };
}

interface StepResult {
  readonly detail: string;
  readonly failedCopy?: string | null;
}

/**
 * Restores a pg_dump by rename-swap, one step per call: create a scratch database, pg_restore into it,
 * swap names with the live database (kept as `<db>_failed_<ts>`, never dropped), then verify.
 * Progress is recorded as a comment on the scratch database, so a call after a crash reads pg_database
 * and carries on from where the work really stopped: nothing is restored or renamed twice.
 * A restore drill takes the first two steps into `<db>_drill_<ts>`, then drops that copy once it was checked.
 */
export class PgRestorer implements DatabaseRestorer, ScratchRestorer {
  private readonly connection: PostgresUrl;
  private found?: PgPrograms;

  constructor(
    database: PostgresDatabaseConfig,
    private readonly options: PgRestorerOptions,
  ) {
    this.connection = parsePostgresUrl(options.url, `the URL in ${database.urlEnv}`);
  }

  /** Found on first use: discarding a drill's copy runs no program (on AWS the restore-database function does it, without pg_restore). */
  private get programs(): PgPrograms {
    this.found ??= this.options.programs ?? new LocalPgPrograms(this.options.binDir);
    return this.found;
  }

  advance(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    return this.step('swap', snapshot, state);
  }

  restoreScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    return this.step('drill', snapshot, state);
  }

  async discardScratch(snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    if (state?.phase === 'discarded') return state;
    return this.guarded(snapshot, 'discarding the drill copy of', () =>
      withClient(withDatabase(this.options.url, MAINTENANCE_DATABASE), async (admin) => {
        const startedAt = state?.startedAt ?? (await this.interruptedStart(admin, snapshot, 'drill'));
        const at = this.options.clock.now().toISOString();
        const steps = state?.steps ?? [];
        if (startedAt === undefined || startedAt === null) {
          return { ...discarded(snapshot, state, at), steps: [...steps, { phase: 'discard', at, detail: 'no drill copy was created: nothing to drop' }] };
        }
        const plan = this.plan('drill', snapshot, snapshot.location ?? '', snapshot.checksum ?? '', startedAt);
        const scratch = state?.scratch ?? plan.scratch;
        // Defensive: only the name this drill derives, shaped as a drill's copy, and never the live database.
        if (scratch !== plan.scratch || !isDrillCopyName(scratch, plan.database)) {
          throw new RestoreFailedError(`refusing to drop ${JSON.stringify(scratch)}: the drill of ${snapshot.id} only drops its own copy ${plan.scratch}`);
        }
        const { rows } = await admin.query<{ note: string | null }>("SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname = $1", [scratch]);
        if (rows.length === 0) return { ...discarded(snapshot, state, at), scratch, steps: [...steps, { phase: 'discard', at, detail: `${scratch} does not exist (already dropped)` }] };
        const note = rows[0].note;
        if (note !== plan.marker.created && note !== plan.marker.restored) {
          throw new RestoreFailedError(`refusing to drop ${scratch}: it is not marked as this drill's copy of ${snapshot.id} (comment: ${JSON.stringify(note)})`);
        }
        const terminated = await this.drain(admin, [scratch]);
        await admin.query(`DROP DATABASE ${id(scratch)}`);
        const detail = `dropped the drill copy ${scratch}${terminated > 0 ? ` (${plural(terminated, 'session')} terminated)` : ''}; ${plan.database} was not touched`;
        return { ...discarded(snapshot, state, this.options.clock.now().toISOString()), scratch, steps: [...steps, { phase: 'discard', at, detail }] };
      }),
    );
  }

  private async step(purpose: Purpose, snapshot: SnapshotRef, state: RestoreState | null): Promise<RestoreState> {
    if (state?.phase === 'done') return state;
    if (snapshot.kind !== 'postgres' || snapshot.location === null || snapshot.checksum === null) {
      throw new RestoreFailedError(`snapshot ${snapshot.id} is not a stored pg_dump (kind ${snapshot.kind}, location ${snapshot.location}): PgRestorer cannot restore it`);
    }
    const { location, checksum } = snapshot;
    return this.guarded(snapshot, purpose === 'drill' ? 'drill restore of' : 'restore of', () => this.advanceOnce(purpose, snapshot, location, checksum, state));
  }

  /** The state machine reports RestoreFailedError by name: a driver error gets the same treatment, its message without the password. */
  private async guarded<T>(snapshot: SnapshotRef, what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof RestoreFailedError) throw error;
      throw new RestoreFailedError(`${what} ${snapshot.id} into ${this.connection.database} failed: ${redact(errorText(error), [this.connection.password])}`, { cause: error });
    }
  }

  private advanceOnce(purpose: Purpose, snapshot: SnapshotRef, location: string, checksum: string, state: RestoreState | null): Promise<RestoreState> {
    return withClient(withDatabase(this.options.url, MAINTENANCE_DATABASE), async (admin) => {
      const startedAt = state?.startedAt ?? (await this.interruptedStart(admin, snapshot, purpose)) ?? this.options.clock.now().toISOString();
      const plan = this.plan(purpose, snapshot, location, checksum, startedAt);
      const progress = await this.progress(admin, plan);
      const steps = PURPOSES[purpose].steps;
      const expected = state?.phase ?? 'create-scratch';
      if (progress === 'none' && (expected === 'swap' || expected === 'verify' || (purpose === 'drill' && expected === 'restore' && state?.scratch))) {
        throw new RestoreFailedError(`restore of ${snapshot.id} was at phase ${expected}, but neither ${plan.scratch} nor a restored ${plan.database} exists`);
      }
      const at = this.options.clock.now().toISOString();
      // A drill whose copy is restored already (an answer lost to a crash) has no step left.
      const step = purpose === 'drill' && progress === 'restored' ? null : stepFor(progress);
      const result = step ? await this.run(step, admin, plan) : { detail: `${plan.scratch} was restored already` };
      const index = step ? steps.indexOf(step) : steps.length - 1;
      const next = index + 1 < steps.length ? steps[index + 1] : 'done';
      const done = next === 'done';
      return {
        restored: done,
        decision: done ? 'restored' : 'restoring',
        phase: next,
        failedCopy: result.failedCopy === undefined ? (state?.failedCopy ?? null) : result.failedCopy,
        ...(purpose === 'drill' ? { scratch: plan.scratch } : {}),
        snapshotId: snapshot.id,
        steps: [...(state?.steps ?? []), { phase: step ?? 'restore', at, detail: result.detail }],
        startedAt,
        finishedAt: done ? at : null,
      };
    });
  }

  private run(step: RestoreStep, admin: pg.Client, plan: Plan): Promise<StepResult> {
    switch (step) {
      case 'create-scratch':
        return this.createScratch(admin, plan);
      case 'restore':
        return this.restore(admin, plan);
      case 'swap':
        return this.swap(admin, plan);
      case 'verify':
        return this.verify(admin, plan);
    }
  }

  private plan(purpose: Purpose, snapshot: SnapshotRef, location: string, checksum: string, startedAt: string): Plan {
    const ts = compactTimestamp(startedAt);
    const database = this.connection.database;
    const base = `${PURPOSES[purpose].marker}${snapshot.id} started ${ts}`;
    return {
      snapshot,
      location,
      checksum,
      database,
      scratch: scratchName(purpose, database, startedAt),
      failed: boundedIdentifier(database, `_failed_${ts}`),
      marker: { created: `${base}: created`, restored: `${base}: restored` },
    };
  }

  /**
   * When the state carries no start (the first call crashed before returning), a scratch database
   * this snapshot's restore left behind tells when that restore started, so it is picked up, not duplicated.
   */
  private async interruptedStart(admin: pg.Client, snapshot: SnapshotRef, purpose: Purpose): Promise<string | undefined> {
    const { rows } = await admin.query<{ datname: string; note: string | null }>(
      "SELECT datname, shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname <> $1",
      [this.connection.database],
    );
    const prefix = `${PURPOSES[purpose].marker}${snapshot.id} started `;
    const starts = rows
      .map((row) => (row.note?.startsWith(prefix) ? /^(\d{14}): (created|restored)$/.exec(row.note.slice(prefix.length))?.[1] : undefined))
      .filter((ts): ts is string => ts !== undefined)
      .sort();
    const latest = starts.at(-1);
    return latest === undefined ? undefined : fromCompactTimestamp(latest);
  }

  private async progress(admin: pg.Client, plan: Plan): Promise<Progress> {
    const { rows } = await admin.query<{ datname: string; note: string | null }>(
      "SELECT datname, shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname = ANY($1)",
      [[plan.database, plan.scratch]],
    );
    const live = rows.find((row) => row.datname === plan.database);
    const scratch = rows.find((row) => row.datname === plan.scratch);
    if (live?.note === plan.marker.restored) return 'swapped';
    if (!scratch) return 'none';
    if (scratch.note === plan.marker.restored) return 'restored';
    if (scratch.note === plan.marker.created) return 'created';
    throw new RestoreFailedError(`database ${plan.scratch} exists but was not created by this restore (comment: ${JSON.stringify(scratch.note)}); rename or drop it`);
  }

  private async createScratch(admin: pg.Client, plan: Plan): Promise<StepResult> {
    await admin.query(`CREATE DATABASE ${id(plan.scratch)} TEMPLATE template0`);
    await admin.query(`COMMENT ON DATABASE ${id(plan.scratch)} IS ${literal(plan.marker.created)}`);
    return { detail: `created scratch database ${plan.scratch}` };
  }

  private async restore(admin: pg.Client, plan: Plan): Promise<StepResult> {
    const notes: string[] = [];
    const scratchUrl = withDatabase(this.options.url, plan.scratch);
    const leftovers = await withClient(scratchUrl, (client) => countTables(client));
    if (leftovers > 0) {
      // The previous run restored but died before marking it: its copy cannot be trusted to be whole.
      await this.drain(admin, [plan.scratch]);
      await admin.query(`DROP DATABASE ${id(plan.scratch)}`);
      await this.createScratch(admin, plan);
      notes.push(`discarded an unconfirmed earlier restore (${plural(leftovers, 'table')})`);
    }
    const actual = await sha256Of(await this.options.store.getStream(plan.location));
    if (actual !== plan.checksum) {
      throw new RestoreFailedError(`dump ${plan.location} has sha256 ${actual}, expected ${plan.checksum}: refusing to restore a dump that changed after it was taken`);
    }
    const target = parsePostgresUrl(scratchUrl);
    const result = await this.programs.restore(await this.options.store.getStream(plan.location), target);
    if (result.code !== 0) {
      const why = tail(redact(result.stderr, [target.password])) || 'no output';
      throw new RestoreFailedError(`pg_restore of ${plan.location} into ${plan.scratch} exited with ${result.code ?? result.signal}: ${why}`);
    }
    await admin.query(`COMMENT ON DATABASE ${id(plan.scratch)} IS ${literal(plan.marker.restored)}`);
    const tables = await withClient(scratchUrl, (client) => countTables(client));
    return { detail: [...notes, `restored ${plan.location} into ${plan.scratch} (${plural(tables, 'table')})`].join('; ') };
  }

  /**
   * Moves the live database aside and the restored one into its name in one transaction, so the name
   * is never missing. New sessions are refused while the old ones are terminated; on failure the live
   * database accepts connections again, untouched.
   */
  private async swap(admin: pg.Client, plan: Plan): Promise<StepResult> {
    const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [[plan.database, plan.failed]]);
    const liveExists = rows.some((row) => row.datname === plan.database);
    if (rows.some((row) => row.datname === plan.failed)) {
      throw new RestoreFailedError(`cannot keep ${plan.database} as ${plan.failed}: a database with that name already exists`);
    }
    if (!liveExists) {
      await this.drain(admin, [plan.scratch]);
      await admin.query(`ALTER DATABASE ${id(plan.scratch)} RENAME TO ${id(plan.database)}`);
      return { detail: `${plan.database} did not exist; renamed ${plan.scratch} to ${plan.database}`, failedCopy: null };
    }
    await admin.query(`ALTER DATABASE ${id(plan.database)} ALLOW_CONNECTIONS false`);
    try {
      const terminated = await this.drain(admin, [plan.database, plan.scratch]);
      await admin.query('BEGIN');
      await admin.query(`ALTER DATABASE ${id(plan.database)} RENAME TO ${id(plan.failed)}`);
      // The failed copy stays open for inspection: it is evidence, not a live database.
      await admin.query(`ALTER DATABASE ${id(plan.failed)} ALLOW_CONNECTIONS true`);
      await admin.query(`COMMENT ON DATABASE ${id(plan.failed)} IS ${literal(`deploy-runbook: ${plan.database} as it was before the restore of ${plan.snapshot.id}`)}`);
      await admin.query(`ALTER DATABASE ${id(plan.scratch)} RENAME TO ${id(plan.database)}`);
      await admin.query('COMMIT');
      return { detail: `kept ${plan.database} as ${plan.failed}, renamed ${plan.scratch} to ${plan.database} (${plural(terminated, 'session')} terminated)`, failedCopy: plan.failed };
    } catch (error) {
      await admin.query('ROLLBACK');
      await admin.query(`ALTER DATABASE ${id(plan.database)} ALLOW_CONNECTIONS true`);
      throw new RestoreFailedError(`swapping ${plan.scratch} into ${plan.database} failed: ${errorText(error)}`, { cause: error });
    }
  }

  private async verify(admin: pg.Client, plan: Plan): Promise<StepResult> {
    const live = await withClient(this.options.url, async (client) => {
      const { rows } = await client.query<{ note: string | null }>(
        "SELECT shobj_description(oid, 'pg_database') AS note FROM pg_database WHERE datname = current_database()",
      );
      return { note: rows[0]?.note ?? null, tables: await countTables(client) };
    });
    if (live.note !== plan.marker.restored) {
      throw new RestoreFailedError(`${plan.database} is not the copy restored from ${plan.snapshot.id} (comment: ${JSON.stringify(live.note)})`);
    }
    const listing = await listDump(this.programs, await this.options.store.getStream(plan.location), `dump ${plan.location}`, RestoreFailedError);
    if (live.tables !== listing.tables) {
      throw new RestoreFailedError(`${plan.database} has ${live.tables} tables after the restore, but dump ${plan.location} lists ${listing.tables}`);
    }
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [plan.failed]);
    const failedCopy = rows.length > 0 ? plan.failed : null;
    return { detail: `${plan.database} has the ${plural(live.tables, 'table')} the dump lists${failedCopy ? `; the replaced database is kept as ${failedCopy}` : ''}`, failedCopy };
  }

  /** Terminates every other session on the databases and waits until they are gone; returns how many there were. */
  private async drain(admin: pg.Client, databases: string[]): Promise<number> {
    const deadline = Date.now() + (this.options.drainTimeoutMs ?? 10_000);
    let terminated = 0;
    for (;;) {
      const { rows } = await admin.query<{ pid: number }>(
        'SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
        [databases],
      );
      if (rows.length === 0) return terminated;
      terminated = Math.max(terminated, rows.length);
      if (Date.now() >= deadline) {
        throw new RestoreFailedError(`sessions ${rows.map((row) => row.pid).join(', ')} on ${databases.join(', ')} did not end after being terminated`);
      }
      await delay(100);
    }
  }
}

/** Where a restore of `database` started at `startedAt` puts the dump before the swap, or a drill its copy. */
function scratchName(purpose: Purpose, database: string, startedAt: string): string {
  return boundedIdentifier(database, `${PURPOSES[purpose].suffix}${compactTimestamp(startedAt)}`);
}

/** The copy a restore drill of `database` started at `startedAt` restores into: `<database>_drill_<yyyymmddhhmmss>`. */
export function drillCopyName(database: string, startedAt: string): string {
  return scratchName('drill', database, startedAt);
}

/** A drill's state once its copy is gone. */
function discarded(snapshot: SnapshotRef, state: RestoreState | null, at: string): RestoreState {
  return {
    restored: state?.restored ?? false,
    decision: state?.decision ?? 'restoring',
    phase: 'discarded',
    failedCopy: null,
    scratch: state?.scratch ?? null,
    snapshotId: snapshot.id,
    steps: state?.steps ?? [],
    startedAt: state?.startedAt ?? null,
    finishedAt: at,
  };
}

/** Which step the database's actual state calls for. */
function stepFor(progress: Progress): RestoreStep {
  switch (progress) {
    case 'none':
      return 'create-scratch';
    case 'created':
      return 'restore';
    case 'restored':
      return 'swap';
    case 'swapped':
      return 'verify';
  }
}

/** User tables (plain and partitioned), the way pg_restore --list counts TABLE entries. */
async function countTables(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*)::text AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
  );
  return Number(rows[0].n);
}

function id(name: string): string {
  return pg.escapeIdentifier(name);
}

function literal(text: string): string {
  return pg.escapeLiteral(text);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
