import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RestoreFailedError } from '../../../core/errors';
import { findPostgresBinaries } from '../../../local/postgres/binaries';
import { listDump, parseDumpListing } from '../../../local/postgres/dump-listing';
import { LocalPgPrograms } from '../../../adapters/local/pg-programs';

const LISTING = `;
; Archive created at 2025-03-04 05:06:07 UTC
;     dbname: shop
;     TOC Entries: 12
;
; Selected TOC Entries:
;
215; 1259 16386 TABLE public customers postgres
216; 1259 16392 TABLE public orders postgres
217; 1259 16391 SEQUENCE public orders_id_seq postgres
3345; 0 16386 TABLE DATA public customers postgres
3346; 0 16392 TABLE DATA public orders postgres
3350; 0 0 SEQUENCE SET public orders_id_seq postgres
3190; 2606 16397 CONSTRAINT public orders orders_pkey postgres
3192; 1259 16403 INDEX public orders_customer_idx postgres
3193; 2606 16398 FK CONSTRAINT public orders orders_customer_id_fkey postgres
`;

describe('parseDumpListing', () => {
  it('counts entries, tables and table data, ignoring comments', () => {
    expect(parseDumpListing(LISTING)).toEqual({ entries: 9, tables: 2, tableData: 2 });
  });

  it('counts nothing in an empty archive', () => {
    expect(parseDumpListing(';\n; Archive created at 2025-03-04\n;\n')).toEqual({ entries: 0, tables: 0, tableData: 0 });
  });
});

describe('listDump', () => {
  it('fails when pg_restore cannot read the input, with the caller\'s error class and pg_restore\'s reason', async () => {
    const pgRestore = new LocalPgPrograms(findPostgresBinaries({ programs: ['pg_restore'] }).binDir);

    const listing = listDump(pgRestore, Readable.from([Buffer.from('not a dump at all')]), 'dump backups/x.dump', RestoreFailedError);

    await expect(listing).rejects.toThrow(RestoreFailedError);
    await expect(listDump(pgRestore, Readable.from([Buffer.from('not a dump at all')]), 'dump backups/x.dump', RestoreFailedError)).rejects.toThrow(
      /^pg_restore --list could not read dump backups\/x\.dump: pg_restore: error: /,
    );
  });
});
