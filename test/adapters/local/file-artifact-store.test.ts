import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileArtifactStore, InvalidArtifactKeyError } from '../../../adapters/local/file-artifact-store';
import { ArtifactNotFoundError, PreconditionFailedError } from '../../../core/errors';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STORE_MODULE = pathToFileURL(join(PROJECT_ROOT, 'adapters/local/file-artifact-store.ts')).href;

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

let root: string;
let store: FileArtifactStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'file-artifact-store-'));
  store = new FileArtifactStore(root);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it: proves no temporary or lock file is left behind. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name))).sort();
}

async function increment(target: FileArtifactStore, key: string): Promise<number> {
  for (;;) {
    const current = await target.get(key);
    const next = (current ? Number(current.body.toString()) : 0) + 1;
    try {
      await target.put(key, String(next), current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
      return next;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }
}

describe('FileArtifactStore', () => {
  it('returns what was put, with the sha256 of the content as etag', async () => {
    const { etag } = await store.put('ledger/shop-api.json', '{"target":"shop-api"}');
    const object = await store.get('ledger/shop-api.json');
    expect(object?.body.toString()).toBe('{"target":"shop-api"}');
    expect(object?.etag).toBe(sha256('{"target":"shop-api"}'));
    expect(etag).toBe(object?.etag);
    expect(await readFile(join(root, 'ledger', 'shop-api.json'), 'utf8')).toBe('{"target":"shop-api"}');
  });

  it('stores bytes exactly, whatever they are', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        const { etag } = await store.put('blobs/any.bin', bytes);
        const object = await store.get('blobs/any.bin');
        expect(object?.body.equals(Buffer.from(bytes))).toBe(true);
        expect(object?.etag).toBe(etag);
      }),
      { numRuns: 50 },
    );
  });

  it('returns undefined for a key that does not exist', async () => {
    expect(await store.get('locks/nothing.json')).toBeUndefined();
  });

  it('creates with ifNoneMatch and fails the second create with PreconditionFailedError 412', async () => {
    await store.put('locks/shop-api.json', 'first', { ifNoneMatch: '*' });
    const second = store.put('locks/shop-api.json', 'second', { ifNoneMatch: '*' });
    await expect(second).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(second).rejects.toMatchObject({ key: 'locks/shop-api.json', status: 412 });
    expect((await store.get('locks/shop-api.json'))?.body.toString()).toBe('first');
    expect(await filesUnder(root)).toEqual([join('locks', 'shop-api.json')]);
  });

  it('replaces with ifMatch the current etag and returns the new etag', async () => {
    const first = await store.put('locks/shop-api.json', 'held');
    const second = await store.put('locks/shop-api.json', 'released', { ifMatch: first.etag });
    expect(second.etag).toBe(sha256('released'));
    expect((await store.get('locks/shop-api.json'))?.body.toString()).toBe('released');
  });

  it('fails when ifMatch names an older etag, and keeps the newer content', async () => {
    const first = await store.put('locks/shop-api.json', 'v1');
    await store.put('locks/shop-api.json', 'v2', { ifMatch: first.etag });
    await expect(store.put('locks/shop-api.json', 'v3', { ifMatch: first.etag })).rejects.toMatchObject({
      name: 'PreconditionFailedError',
      status: 412,
    });
    expect((await store.get('locks/shop-api.json'))?.body.toString()).toBe('v2');
    expect(await filesUnder(root)).toEqual([join('locks', 'shop-api.json')]);
  });

  it('fails when ifMatch is used on a key that does not exist', async () => {
    await expect(store.put('locks/none.json', 'x', { ifMatch: sha256('x') })).rejects.toMatchObject({ name: 'PreconditionFailedError', key: 'locks/none.json', status: 412 });
    expect(await store.get('locks/none.json')).toBeUndefined();
  });

  it('fails when both ifNoneMatch and ifMatch are given', async () => {
    await expect(store.put('locks/both.json', 'x', { ifNoneMatch: '*', ifMatch: 'abc' })).rejects.toMatchObject({ name: 'PreconditionFailedError', key: 'locks/both.json' });
    expect(await store.get('locks/both.json')).toBeUndefined();
  });

  it.each([
    ['', 'is empty'],
    ['../outside.json', "'..' segment"],
    ['locks/../../outside.json', "'..' segment"],
    ['/etc/passwd', 'absolute path'],
    ['locks//shop-api.json', 'empty segment'],
    ['locks/', 'empty segment'],
    ['locks/.shop-api.json.lock', "starting with '.'"],
    ['./locks/a.json', "starting with '.'"],
    ['locks\\a.json', 'backslash'],
  ])('fails when the key is %j', async (key, reason) => {
    await expect(store.put(key, 'x')).rejects.toThrow(InvalidArtifactKeyError);
    await expect(store.get(key)).rejects.toThrow(`artifact key ${JSON.stringify(key)}`);
    expect(() => store.locate(key)).toThrow(reason);
    expect(await filesUnder(root)).toEqual([]);
  });

  it('maps every valid key to a path inside the root', () => {
    const segment = fc.stringMatching(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,20}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
        const path = store.locate(segments.join('/'));
        const inside = relative(root, path);
        expect(isAbsolute(path)).toBe(true);
        expect(inside.startsWith('..')).toBe(false);
        expect(inside.split(/[\\/]/)).toEqual(segments);
      }),
    );
  });

  it('locates a key as an absolute file path', () => {
    expect(store.locate('reports/shop-api/d-1.md')).toBe(join(root, 'reports', 'shop-api', 'd-1.md'));
  });

  it('lets exactly one of 20 concurrent creates of one key succeed', async () => {
    const attempts = Array.from({ length: 20 }, (_, i) => store.put('locks/race.json', `writer-${i}`, { ifNoneMatch: '*' }));
    const results = await Promise.allSettled(attempts);
    const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    const losers = results.filter((r) => r.status === 'rejected');
    expect(winners).toHaveLength(1);
    expect(losers.every((r) => r.reason instanceof PreconditionFailedError)).toBe(true);
    expect((await store.get('locks/race.json'))?.body.toString()).toBe(`writer-${winners[0]}`);
    expect(await filesUnder(root)).toEqual([join('locks', 'race.json')]);
  });

  it('lets exactly one of 20 concurrent compare-and-swaps on one etag succeed', async () => {
    const { etag } = await store.put('locks/cas.json', 'start');
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.put('locks/cas.json', `swap-${i}`, { ifMatch: etag })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof PreconditionFailedError)).toBe(true);
  });

  it('loses no update when 40 writers increment one counter with compare-and-swap', async () => {
    await Promise.all(Array.from({ length: 40 }, () => increment(store, 'counters/n.txt')));
    expect((await store.get('counters/n.txt'))?.body.toString()).toBe('40');
  });

  it('takes over a key lock left behind by a crashed process', async () => {
    const lock = join(root, 'locks', '.crashed.json.lock');
    await store.put('locks/crashed.json', 'v1');
    await writeFile(lock, '');
    const longAgo = new Date(Date.now() - 60_000);
    await utimes(lock, longAgo, longAgo);
    await store.put('locks/crashed.json', 'v2');
    expect((await store.get('locks/crashed.json'))?.body.toString()).toBe('v2');
    expect(await filesUnder(root)).toEqual([join('locks', 'crashed.json')]);
  });

  describe('across processes', () => {
    /** Starts `count` node processes running the store, waits until all are ready, then lets them go at once. */
    async function runChildren(count: number, mode: 'create' | 'increment', times = 1): Promise<string[]> {
      const script = join(root, '.child.mjs');
      const go = join(root, '.go');
      await writeFile(
        script,
        `import { existsSync } from 'node:fs';
import { FileArtifactStore } from ${JSON.stringify(STORE_MODULE)};
const [dir, mode, id, times] = process.argv.slice(2);
const store = new FileArtifactStore(dir);
console.log('ready');
while (!existsSync(${JSON.stringify(go)})) await new Promise((r) => setTimeout(r, 1));
if (mode === 'create') {
  try {
    await store.put('locks/race.json', id, { ifNoneMatch: '*' });
    console.log('won');
  } catch (error) {
    if (error.name !== 'PreconditionFailedError') throw error;
    console.log('lost');
  }
} else {
  for (let i = 0; i < Number(times); i++) {
    for (;;) {
      const current = await store.get('counters/n.txt');
      const next = (current ? Number(current.body.toString()) : 0) + 1;
      try {
        await store.put('counters/n.txt', String(next), current ? { ifMatch: current.etag } : { ifNoneMatch: '*' });
        break;
      } catch (error) {
        if (error.name !== 'PreconditionFailedError') throw error;
      }
    }
  }
  console.log('done');
}
`,
      );
      let ready = 0;
      let release: () => void = () => undefined;
      const allReady = new Promise<void>((resolve) => (release = resolve));
      const children = Array.from({ length: count }, (_, i) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, root, mode, `child-${i}`, String(times)], { cwd: PROJECT_ROOT });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => {
          if (!out.includes('ready') && (out + chunk.toString()).includes('ready') && ++ready === count) release();
          out += chunk.toString();
        });
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        return new Promise<string>((resolve, reject) =>
          child.on('close', (code) => (code === 0 ? resolve(out.replace('ready', '').trim()) : reject(new Error(`child-${i} exited ${code}: ${err}`)))),
        );
      });
      await allReady;
      await writeFile(go, '');
      return Promise.all(children);
    }

    it('lets exactly one of 6 processes create one key', async () => {
      const outcomes = await runChildren(6, 'create');
      expect(outcomes.filter((o) => o === 'won')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'lost')).toHaveLength(5);
      const winner = outcomes.indexOf('won');
      expect((await store.get('locks/race.json'))?.body.toString()).toBe(`child-${winner}`);
    });

    it('loses no update when 4 processes increment one counter 25 times each', async () => {
      const outcomes = await runChildren(4, 'increment', 25);
      expect(outcomes).toEqual(['done', 'done', 'done', 'done']);
      expect((await store.get('counters/n.txt'))?.body.toString()).toBe('100');
      expect(await filesUnder(join(root, 'counters'))).toEqual(['n.txt']);
    });
  });

  describe('streams', () => {
    it('streams a body to the key, counting bytes and hashing while it streams', async () => {
      const chunks = Array.from({ length: 48 }, (_, i) => Buffer.alloc(64 * 1024, i));
      const expected = Buffer.concat(chunks);
      const result = await store.putStream('backups/shop-api/d-1.dump', Readable.from(chunks));
      expect(result).toEqual({ etag: sha256(expected), bytes: expected.length, sha256: sha256(expected) });
      expect((await readFile(join(root, 'backups', 'shop-api', 'd-1.dump'))).equals(expected)).toBe(true);
      expect((await store.get('backups/shop-api/d-1.dump'))?.etag).toBe(result.etag);
      expect(await filesUnder(root)).toEqual([join('backups', 'shop-api', 'd-1.dump')]);
    });

    it('leaves neither the key nor a temporary file when the source stream fails', async () => {
      async function* failing() {
        yield Buffer.from('partial dump');
        throw new Error('pg_dump exited with code 1');
      }
      await expect(store.putStream('backups/shop-api/d-2.dump', Readable.from(failing()))).rejects.toThrow('pg_dump exited with code 1');
      expect(await store.get('backups/shop-api/d-2.dump')).toBeUndefined();
      expect(await filesUnder(root)).toEqual([]);
    });

    it('reads a stored object back as a stream', async () => {
      await store.put('reports/shop-api/d-1.md', '# Report\n');
      expect(await text(await store.getStream('reports/shop-api/d-1.md'))).toBe('# Report\n');
    });

    it('fails when streaming a key that does not exist, naming the key', async () => {
      await expect(store.getStream('backups/shop-api/missing.dump')).rejects.toThrow(ArtifactNotFoundError);
      await expect(store.getStream('backups/shop-api/missing.dump')).rejects.toThrow('backups/shop-api/missing.dump');
    });
  });
});
