/** How a restore drill names its scratch copy: `<database>_drill_<yyyymmddhhmmss>` (the database part shortened to fit). */
export const DRILL_SUFFIX = '_drill_';

const DRILL_COPY = /_drill_\d{14}$/;

/**
 * Whether `name` may be dropped or inspected as a drill's copy of `live`: it ends in `_drill_<14 digits>` and is not
 * the live database itself. The defensive check every drill step makes before it touches a database by name.
 */
export function isDrillCopyName(name: string, live: string | null): boolean {
  return DRILL_COPY.test(name) && name !== live;
}
