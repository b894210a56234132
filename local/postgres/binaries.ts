import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { RunbookError } from '../../core/errors';

/** The server and client programs the rehearsal runs; all must come from one directory (one major version). */
export const POSTGRES_PROGRAMS = ['initdb', 'pg_ctl', 'postgres', 'pg_dump', 'pg_restore'] as const;

/** No usable PostgreSQL installation was found; the message lists every directory tried. */
export class PostgresNotFoundError extends RunbookError {}

/** Where a usable PostgreSQL installation's programs are. */
export interface PostgresBinaries {
  readonly binDir: string;
  /** Major version read from the install path, or null when the path does not say (a directory on PATH). */
  readonly major: number | null;
}

/** Where findPostgresBinaries looks, and for what. */
export interface FindBinariesOptions {
  /** Programs the directory must hold. @default POSTGRES_PROGRAMS (server and client) */
  readonly programs?: readonly string[];
  /** Use this directory and nothing else (e.g. from `PG_BIN_DIR`). */
  readonly binDir?: string;
  /** Directories holding `<major>/bin` (Debian layout); replaces the default search of Debian and RHEL layouts. */
  readonly versionedRoots?: readonly string[];
  /** Searched after the versioned layouts. @default process.env.PATH */
  readonly path?: string;
}

const DEFAULT_VERSIONED_ROOTS = ['/usr/lib/postgresql', '/usr/local/lib/postgresql'];

/**
 * Locates the newest PostgreSQL whose directory has every program the rehearsal needs. pg_dump and
 * pg_restore are taken from the same directory as the server so that they are never older than it.
 */
export function findPostgresBinaries(options: FindBinariesOptions = {}): PostgresBinaries {
  const candidates = options.binDir !== undefined ? [{ binDir: options.binDir, major: majorOf(options.binDir) }] : defaultCandidates(options);
  const programs = options.programs ?? POSTGRES_PROGRAMS;
  const found = candidates.find((c) => programs.every((program) => existsSync(join(c.binDir, program))));
  if (found) return found;
  const tried = candidates.map((c) => c.binDir);
  throw new PostgresNotFoundError(
    `no PostgreSQL installation with ${programs.join(', ')} found; tried ${tried.length > 0 ? tried.join(', ') : 'no directories'}` +
      ' (install the postgresql server package, e.g. `apt-get install postgresql`, or set PG_BIN_DIR)',
  );
}

function defaultCandidates(options: FindBinariesOptions): PostgresBinaries[] {
  const fromEnv = process.env.PG_BIN_DIR;
  if (fromEnv) return [{ binDir: fromEnv, major: majorOf(fromEnv) }];
  const versioned = (options.versionedRoots ?? DEFAULT_VERSIONED_ROOTS).flatMap((root) =>
    listMajors(root).map((major) => ({ binDir: join(root, String(major), 'bin'), major })),
  );
  const rhel = options.versionedRoots ? [] : listMajors('/usr', /^pgsql-(\d+)$/).map((major) => ({ binDir: `/usr/pgsql-${major}/bin`, major }));
  const onPath = (options.path ?? process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '')
    .map((binDir) => ({ binDir, major: null }));
  return [...[...versioned, ...rhel].sort((a, b) => b.major - a.major), ...onPath];
}

/** Majors installed under `root` (directory names such as `15` or `pgsql-15`), newest first. */
function listMajors(root: string, pattern = /^(\d+)$/): number[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names
    .map((name) => pattern.exec(name)?.[1])
    .filter((major): major is string => major !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
}

function majorOf(binDir: string): number | null {
  const match = /(?:postgresql[/@-]?|pgsql-)(\d+)/.exec(binDir);
  return match ? Number(match[1]) : null;
}
