import { run as analysisCheckpoint } from './analysis-checkpoint';
import { run as backupThroughput } from './backup-throughput';
import { run as bundles } from './bundles';
import { run as rehearsal } from './rehearsal';

/**
 * `npm run bench`: every benchmark, one after the other (they would disturb each other's timings).
 * Each prints its JSON line(s) and readable lines as it goes; a summary closes the run.
 */
const log = (line: string) => console.log(line);

const backup = await backupThroughput({ log });
const rehearsals = await rehearsal({ log });
const checkpoint = await analysisCheckpoint({ log });
const functions = await bundles({ log });

log('');
log('summary:');
log(
  `  backup-throughput  ${(backup.dbBytes / 1024 / 1024).toFixed(0)} MB database: PgBackups.create ${(backup.storeMs / 1000).toFixed(2)} s, ` +
    `${backup.ratio}x pg_dump alone; to S3 (moto) ${(backup.s3Ms / 1000).toFixed(2)} s, throughput ${backup.s3Throughput}x pg_dump > /dev/null, RSS growth ${backup.s3RssGrowthMb} MB`,
);
for (const r of rehearsals) {
  log(
    `  rehearsal ${r.scenario.padEnd(8)} ${r.outcome}: ${(r.wallMs / 1000).toFixed(1)} s wall, ${r.transitions} state transitions ($${r.costUsd.toFixed(4)} on Standard), ` +
      `largest payload ${(r.data.largestBytes / 1024).toFixed(1)} KiB, ~${(r.data.loggedBytes / 1024).toFixed(0)} KiB logged`,
  );
}
log(`  analysis-checkpoint ${checkpoint.metrics} PromQL metrics: ${checkpoint.medianMs} ms median, ${checkpoint.maxMs} ms max per checkpoint (target <= 2000 ms)`);
const [singleClient, , ...handlers] = functions;
const largest = handlers.reduce((max, f) => (f.addedBytes > max.addedBytes ? f : max));
const slowest = handlers.reduce((max, f) => (f.initRatio > max.initRatio ? f : max));
log(
  `  bundles            up to ${(largest.addedBytes / 1024).toFixed(0)} KB beyond the AWS SDK (${largest.name}); init up to ${slowest.initRatio}x ` +
    `the single-client handler's ${singleClient.initMs.toFixed(0)} ms (${slowest.name})`,
);
