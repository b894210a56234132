import { z } from 'zod';

/** An analysis metric's name (`analysis.metrics[].name`): how reports, a watch's rollback and a release plan's analysis gate refer to it. */
export const MetricName = z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'must be a letter followed by up to 63 letters, digits, _ or -');
