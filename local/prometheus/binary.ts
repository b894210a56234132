import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { RunbookError } from '../../core/errors';

/** No Prometheus program was found; the message lists where it looked and says what to install. */
export class PrometheusNotFoundError extends RunbookError {}

/** Where findPrometheus looks. */
export interface FindPrometheusOptions {
  /** A program name looked up on `path` and in /usr/bin, or a path used as it is. @default process.env.PROMETHEUS_BIN, else 'prometheus' */
  readonly program?: string;
  /** @default process.env.PATH */
  readonly path?: string;
}

/** Where the Debian package puts it, for a PATH that lacks /usr/bin (a service's or a test's). */
const SYSTEM_DIR = '/usr/bin';

/**
 * The Prometheus server program the rehearsal starts: `PROMETHEUS_BIN` when set (as scripts/ensure-prometheus.sh
 * reads it), otherwise `prometheus` on PATH or in /usr/bin (the Debian package `prometheus`).
 */
export function findPrometheus(options: FindPrometheusOptions = {}): string {
  const program = options.program ?? (process.env.PROMETHEUS_BIN || 'prometheus');
  const candidates = program.includes('/') ? [program] : [...searchPath(options.path ?? process.env.PATH ?? ''), SYSTEM_DIR].map((dir) => join(dir, program));
  const found = candidates.find(isExecutableFile);
  if (found) return found;
  throw new PrometheusNotFoundError(
    `no Prometheus server program '${program}' found; tried ${[...new Set(candidates)].join(', ')}` +
      ' (install the prometheus package, e.g. `apt-get install prometheus`, which `npm test` and `npm run rehearse` do when run as root, or set PROMETHEUS_BIN)',
  );
}

function searchPath(path: string): string[] {
  return path.split(delimiter).filter((dir) => dir !== '');
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
