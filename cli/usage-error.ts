import { RunbookError } from '../core/errors';

/** The command line or the configuration is wrong; nothing was started. Exits with code 64. */
export class UsageError extends RunbookError {}
