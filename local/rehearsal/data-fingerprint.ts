import { withClient } from '../../adapters/local/pg-connection';
import { readFingerprint } from '../../adapters/pg-inspector';
import type { DataFingerprint } from '../../core/data-fingerprint';

export { compareFingerprints, type DataComparison, type DataFingerprint, type TableFingerprint } from '../../core/data-fingerprint';

/**
 * Every table of schema public with its row count, column names and an md5 of its rows: what the rehearsal's
 * verification compares before and after the execution (the runbook's own fingerprint counts and checksums only
 * what `backup.fingerprint` names).
 */
export async function dataFingerprint(url: string): Promise<DataFingerprint> {
  return withClient(url, (client) => readFingerprint(client, { checksumTables: 'all', columns: true }));
}
