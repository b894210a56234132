/** How a restore drill names its scratch copy: `<database>_drill_<yyyymmddhhmmss>` (the database part shortened to fit). */
export const DRILL_SUFFIX = '_drill_';
/** How a restore drill of an RDS instance or Aurora cluster names its scratch copy: `<identifier>-drill-<yyyymmddhhmmss>` (RDS identifiers allow no `_`). */
export const DRILL_INFIX = '-drill-';

const DRILL_COPY = /_drill_\d{14}$/;
const DRILL_INSTANCE = /^[a-zA-Z][a-zA-Z0-9-]*-drill-\d{14}$/;

/**
 * Whether `name` may be dropped or inspected as a drill's copy of `live`: it ends in `_drill_<14 digits>` and is not
 * the live database itself. The defensive check every drill step makes before it touches a database by name.
 */
export function isDrillCopyName(name: string, live: string | null): boolean {
  return DRILL_COPY.test(name) && name !== live;
}

/** The same check for an RDS DB instance or Aurora DB cluster identifier: `<identifier>-drill-<14 digits>`, never `live`. */
export function isDrillInstanceName(identifier: string, live: string | null): boolean {
  return DRILL_INSTANCE.test(identifier) && identifier !== live;
}
