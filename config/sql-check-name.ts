import { z } from 'zod';

/** A SQL check's name (`checks.sql[].name`): how reports, a data gate's cause and a release plan's SQL gate refer to it. */
export const SqlCheckName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/, 'must be 1-64 letters, digits, spaces or _ . : -');
