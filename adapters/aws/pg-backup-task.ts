import { PostgresDatabase } from '../../config/schema';
import type { ArtifactStore } from '../../core/ports/artifact-store';
import type { Clock } from '../../core/ports/clock';
import { MissingEnvironmentError } from '../../core/errors';
import type { RestoreState } from '../../core/model';
import { type RestoreOutcome, TASK_REQUEST_ENV, TaskRequest } from './backup-task-request';
import { PgBackups } from '../local/pg-backups';
import { postgresUrl, redact } from '../local/pg-connection';
import type { PgPrograms } from '../local/pg-programs';
import { PgRestorer } from '../local/pg-restorer';

/*
 * What the backup task's Node container runs (adapters/aws/pg-backup-task-main.ts is its entry): the rehearsal's
 * PgBackups and PgRestorer, storing into the artifact bucket, with pg_dump and pg_restore run by the postgres
 * container beside it (adapters/aws/pg-sidecar.ts). The Lambda side (adapters/aws/ecs-pg-backups.ts) starts the
 * task with one of these requests and reads what it wrote.
 */

/** The PG* variables both containers get from the task definition (the connection secret and the configuration). */
const CONNECTION_ENV = ['PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE'] as const;

export interface BackupTaskDeps {
  readonly store: ArtifactStore;
  readonly programs: PgPrograms;
  readonly clock: Clock;
  readonly log: (line: string) => void;
}

/** A `postgres://` URL of the database the PG* variables describe (`PGSSLMODE` carried as `sslmode`). */
export function connectionUrlFromEnv(env: NodeJS.ProcessEnv): string {
  const missing = CONNECTION_ENV.filter((name) => !env[name]);
  if (missing.length > 0) throw new MissingEnvironmentError(`the backup task needs ${missing.join(', ')} (from database.connection's secret and settings); missing: ${missing.join(', ')}`);
  return postgresUrl({ host: env.PGHOST ?? '', port: env.PGPORT ?? '', user: env.PGUSER ?? '', password: env.PGPASSWORD ?? '', database: env.PGDATABASE ?? '', sslmode: env.PGSSLMODE });
}

/** Parses the request the task was started with; its problems name the variable and the field. */
export function taskRequestFrom(env: NodeJS.ProcessEnv): TaskRequest {
  const text = env[TASK_REQUEST_ENV];
  if (!text) throw new MissingEnvironmentError(`${TASK_REQUEST_ENV} is not set: the backup task is started by the runbook with its request`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new MissingEnvironmentError(`${TASK_REQUEST_ENV} is not JSON`);
  }
  const parsed = TaskRequest.safeParse(json);
  if (!parsed.success) throw new MissingEnvironmentError(`${TASK_REQUEST_ENV} is not a backup or restore request: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * Runs one request to its end and returns the process's exit code: 0 when the dump is stored, listed and
 * marked available (the restore swapped in and verified; a drill's copy restored beside the live database), 1 otherwise. Failures are logged without the password.
 */
export async function runBackupTask(request: TaskRequest, url: string, deps: BackupTaskDeps): Promise<number> {
  const password = new URL(url).password;
  const config = PostgresDatabase.parse({ kind: 'postgres' });
  const secrets = [password, decodeURIComponent(password)];
  if (request.mode === 'backup') {
    const backups = new PgBackups(config, { url, target: request.target, store: deps.store, clock: deps.clock, programs: deps.programs });
    try {
      const stored = await backups.create(request.snapshotId, request.tags);
      deps.log(JSON.stringify({ level: 'INFO', message: 'backup stored', snapshotId: stored.id, location: stored.location, bytes: stored.sizeBytes, sha256: stored.checksum }));
      return 0;
    } catch (error) {
      // PgBackups has marked the meta failed (when it could write it): the Lambda side reads why from there.
      deps.log(JSON.stringify({ level: 'ERROR', message: 'backup failed', snapshotId: request.snapshotId, error: redact(errorText(error), secrets) }));
      return 1;
    }
  }

  const restorer = new PgRestorer(config, { url, store: deps.store, clock: deps.clock, programs: deps.programs });
  let state: RestoreState = {
    restored: false,
    decision: 'restoring',
    phase: 'create-scratch',
    failedCopy: null,
    snapshotId: request.snapshot.id,
    steps: [],
    startedAt: request.startedAt,
    finishedAt: null,
  };
  let outcome: RestoreOutcome;
  try {
    // Each advance is one step; PgRestorer reads where the database really is, so a re-run task carries on.
    // A drill's steps restore into its own copy beside the live database, never swapped in.
    const advance = request.mode === 'drill-restore' ? restorer.restoreScratch.bind(restorer) : restorer.advance.bind(restorer);
    for (let step = 0; step < 8 && state.phase !== 'done'; step++) state = await advance(request.snapshot, state);
    outcome = state.phase === 'done' ? { status: 'restored', state, error: null } : { status: 'failed', state, error: `the restore stopped at phase "${state.phase}"` };
  } catch (error) {
    outcome = { status: 'failed', state, error: redact(errorText(error), secrets) };
  }
  await deps.store.put(request.resultKey, `${JSON.stringify(outcome, null, 2)}\n`, { contentType: 'application/json' });
  const what = request.mode === 'drill-restore' ? 'drill restore' : 'restore';
  deps.log(JSON.stringify({ level: outcome.status === 'restored' ? 'INFO' : 'ERROR', message: `${what} ${outcome.status}`, snapshotId: request.snapshot.id, error: outcome.error }));
  return outcome.status === 'restored' ? 0 : 1;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
