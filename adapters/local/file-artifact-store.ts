import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { ArtifactStore, PutOptions, PutStreamOptions, StoredObject, StreamedObject } from '../../core/ports/artifact-store';
import { ArtifactNotFoundError, PreconditionFailedError, RunbookError } from '../../core/errors';

/** An artifact key that would escape the store's directory or cannot name a file. */
export class InvalidArtifactKeyError extends RunbookError {}

/** A key lock older than this was left by a crashed process: a live holder keeps it for milliseconds. */
const STALE_LOCK_MS = 30_000;
const LOCK_POLL_MS = 5;

/**
 * The rehearsal's artifact store: one file per key under `root`, with the same conditional-write
 * semantics as S3 so that the lock and the ledger behave alike in both places. The etag is the
 * sha256 of the content. Files and directories whose names start with a dot are the store's own
 * (temporary files, key locks), which is why keys may not use such names.
 */
export class FileArtifactStore implements ArtifactStore {
  /** Absolute path of the store's directory. */
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  async get(key: string): Promise<StoredObject | undefined> {
    const path = this.pathOf(key);
    try {
      const body = await readFile(path);
      return { body, etag: sha256(body) };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async put(key: string, body: string | Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    const path = this.pathOf(key);
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    // No object can both be absent and carry an etag.
    if (options.ifNoneMatch === '*' && options.ifMatch !== undefined) throw new PreconditionFailedError(key, 412);
    await mkdir(dirname(path), { recursive: true });
    const temp = tempPathFor(path);
    try {
      await writeExclusive(temp, bytes);
      if (options.ifNoneMatch === '*') {
        await createFrom(temp, path, key);
      } else {
        await this.withKeyLock(path, async () => {
          if (options.ifMatch !== undefined && (await etagOf(path)) !== options.ifMatch) throw new PreconditionFailedError(key, 412);
          await rename(temp, path);
        });
      }
    } finally {
      await rm(temp, { force: true });
    }
    return { etag: sha256(bytes) };
  }

  async putStream(key: string, body: Readable, options: PutStreamOptions = {}): Promise<StreamedObject> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const temp = tempPathFor(path);
    const hash = createHash('sha256');
    let bytes = 0;
    const measure = new Transform({
      transform(chunk: Buffer | string, _encoding, callback) {
        const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
        hash.update(buffer);
        bytes += buffer.length;
        callback(null, buffer);
      },
    });
    try {
      await pipeline(body, measure, createWriteStream(temp, { flags: 'wx' }));
      await options.beforeCommit?.();
      await this.withKeyLock(path, () => rename(temp, path));
    } finally {
      await rm(temp, { force: true });
    }
    const digest = hash.digest('hex');
    return { etag: digest, bytes, sha256: digest };
  }

  async getStream(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    try {
      const handle = await open(path, 'r');
      return handle.createReadStream();
    } catch (error) {
      if (isMissing(error)) throw new ArtifactNotFoundError(`artifact ${key} does not exist in ${this.root}`);
      throw error;
    }
  }

  locate(key: string): string {
    return this.pathOf(key);
  }

  /** Validates a key and maps it to a path that is always inside `root`. */
  private pathOf(key: string): string {
    const problem = keyProblem(key);
    if (problem) throw new InvalidArtifactKeyError(`artifact key ${JSON.stringify(key)} ${problem}`);
    const path = join(this.root, ...key.split('/'));
    const inside = relative(this.root, path);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) {
      throw new InvalidArtifactKeyError(`artifact key ${JSON.stringify(key)} resolves outside ${this.root}`);
    }
    return path;
  }

  /**
   * Runs `action` while holding `.<name>.lock` beside the file. The lock file is created with 'wx', so
   * exactly one writer, in this process or another, holds it; every replacement of a file goes through it.
   */
  private async withKeyLock<T>(path: string, action: () => Promise<T>): Promise<T> {
    const lock = join(dirname(path), `.${basename(path)}.lock`);
    for (;;) {
      try {
        await (await open(lock, 'wx')).close();
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const age = await ageOf(lock);
        if (age !== undefined && age > STALE_LOCK_MS) await breakStaleLock(lock);
        else if (age !== undefined) await delay(LOCK_POLL_MS + Math.random() * LOCK_POLL_MS);
      }
    }
    try {
      return await action();
    } finally {
      await rm(lock, { force: true });
    }
  }
}

/** Why a key cannot name a file in the store, or undefined when it can. */
function keyProblem(key: string): string | undefined {
  if (typeof key !== 'string' || key.length === 0) return 'is empty';
  if (key.includes('\\') || key.includes('\0')) return 'contains a backslash or NUL character';
  if (key.startsWith('/') || isAbsolute(key)) return 'is an absolute path; keys are relative, such as locks/shop-api.json';
  const segments = key.split('/');
  if (segments.includes('..')) return "contains a '..' segment";
  if (segments.includes('')) return 'has an empty segment (leading, trailing or doubled /)';
  const hidden = segments.find((segment) => segment.startsWith('.'));
  if (hidden !== undefined) return `has a segment starting with '.' (${JSON.stringify(hidden)}): such names are the store's own`;
  return undefined;
}

/**
 * Publishes a fully written temporary file under `path` only if nothing is there. A hard link fails
 * with EEXIST exactly like open(path, 'wx'), and unlike it a reader never sees a half-written object.
 */
async function createFrom(temp: string, path: string, key: string): Promise<void> {
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new PreconditionFailedError(key, 412);
    throw error;
  }
}

async function writeExclusive(path: string, bytes: Buffer): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
}

async function etagOf(path: string): Promise<string | undefined> {
  try {
    return sha256(await readFile(path));
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/** Milliseconds since the file was written, or undefined when it is gone. */
async function ageOf(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
}

/**
 * Removes a lock left by a crashed process. It is renamed aside first, atomically, and checked again:
 * when another process broke it and took a fresh lock in between, that fresh lock is put back.
 */
async function breakStaleLock(lock: string): Promise<void> {
  const aside = `${lock}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(lock, aside);
  } catch (error) {
    if (isMissing(error)) return;
    throw error;
  }
  const age = await ageOf(aside);
  try {
    if (age !== undefined && age <= STALE_LOCK_MS) await link(aside, lock);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await rm(aside, { force: true });
  }
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}
