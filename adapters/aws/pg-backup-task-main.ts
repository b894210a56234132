import { S3Client } from '@aws-sdk/client-s3';
import { requireEnv } from '../../core/errors';
import { systemClock } from '../../core/ports/clock';
import { connectionUrlFromEnv, runBackupTask, taskRequestFrom } from './pg-backup-task';
import { SidecarPgPrograms, WORK_DIR_ENV } from './pg-sidecar';
import { S3ArtifactStore } from './s3-artifact-store';

/*
 * The backup task's Node container: bundled by lib/pg-backup-task.ts into a CDK file asset, fetched and started
 * by the container's bootstrap. Exit code 0: the request succeeded; 1: it failed (the reason is in its manifest or
 * result object, and in the log); 2: it could not start.
 */
async function main(): Promise<number> {
  const request = taskRequestFrom(process.env);
  const url = connectionUrlFromEnv(process.env);
  const programs = new SidecarPgPrograms(requireEnv(WORK_DIR_ENV));
  const store = new S3ArtifactStore(new S3Client({}), requireEnv('RUNBOOK_BUCKET'));
  const code = await runBackupTask(request, url, { store, programs, clock: systemClock, log: (line) => console.log(line) });
  await programs.close().catch(() => undefined);
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.log(JSON.stringify({ level: 'ERROR', message: 'the backup task could not start', error: error instanceof Error ? error.message : String(error) }));
    process.exit(2);
  },
);
