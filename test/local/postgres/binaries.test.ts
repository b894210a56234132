import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { findPostgresBinaries, POSTGRES_PROGRAMS, PostgresNotFoundError } from '../../../local/postgres/binaries';

let root: string;

/** A fake install: an executable stub for each program. */
async function install(dir: string, programs: readonly string[] = POSTGRES_PROGRAMS): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const program of programs) {
    await writeFile(join(dir, program), '#!/bin/sh\n');
    await chmod(join(dir, program), 0o755);
  }
  return dir;
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'pg-binaries-'));
  vi.stubEnv('PG_BIN_DIR', '');
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

describe('findPostgresBinaries', () => {
  it('picks the newest major that has every program', async () => {
    const debian = join(root, 'lib');
    await install(join(debian, '13', 'bin'));
    await install(join(debian, '16', 'bin'));
    await install(join(debian, '9', 'bin'));

    expect(findPostgresBinaries({ versionedRoots: [debian], path: '' })).toEqual({ binDir: join(debian, '16', 'bin'), major: 16 });
  });

  it('skips a newer major that only has the client programs', async () => {
    const debian = join(root, 'lib');
    await install(join(debian, '14', 'bin'));
    await install(join(debian, '17', 'bin'), ['pg_dump', 'pg_restore']);

    expect(findPostgresBinaries({ versionedRoots: [debian], path: '' }).major).toBe(14);
  });

  it('accepts a client-only install when only client programs are asked for', async () => {
    const debian = join(root, 'lib');
    await install(join(debian, '17', 'bin'), ['pg_dump', 'pg_restore']);

    expect(findPostgresBinaries({ versionedRoots: [debian], path: '', programs: ['pg_dump', 'pg_restore'] }).major).toBe(17);
  });

  it('falls back to directories on PATH after the versioned layouts', async () => {
    const onPath = await install(join(root, 'homebrew', 'bin'));
    const empty = join(root, 'empty');

    expect(findPostgresBinaries({ versionedRoots: [empty], path: `${join(root, 'nothing')}:${onPath}` })).toEqual({ binDir: onPath, major: null });
  });

  it('uses PG_BIN_DIR when it is set', async () => {
    const chosen = await install(join(root, 'postgresql', '15', 'bin'));
    vi.stubEnv('PG_BIN_DIR', chosen);

    expect(findPostgresBinaries({ path: '' })).toEqual({ binDir: chosen, major: 15 });
  });

  it('fails when no directory has the programs, naming every directory tried', async () => {
    const debian = join(root, 'lib');
    await install(join(debian, '15', 'bin'), ['pg_dump']);
    const onPath = join(root, 'usr-bin');

    const attempt = () => findPostgresBinaries({ versionedRoots: [debian], path: onPath });

    expect(attempt).toThrow(PostgresNotFoundError);
    expect(attempt).toThrow(`tried ${join(debian, '15', 'bin')}, ${onPath}`);
    expect(attempt).toThrow('initdb, pg_ctl, postgres, pg_dump, pg_restore');
  });

  it('fails when an explicit binDir lacks a program, naming it', async () => {
    const partial = await install(join(root, 'partial'), ['initdb', 'pg_ctl']);

    expect(() => findPostgresBinaries({ binDir: partial })).toThrow(`tried ${partial}`);
  });
});
