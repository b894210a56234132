import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { type Mutant, PLANTED } from './planted';

/**
 * `npm run mutants`: plants each mutant of `planted.ts` in a scratch copy of the repository, one at a time,
 * runs the tests named for it and expects at least one to fail. Prints the score; exits 1 when a mutant
 * survives or no longer applies. Not part of `npm test`: it runs the named tests once per mutant.
 * `npm run mutants -- <id>…` runs only the mutants named.
 */

const ROOT = resolve(import.meta.dirname, '../..');
/** Never copied: dependencies are linked, the rest is history, output or scratch. */
const NOT_COPIED = new Set(['node_modules', '.git', 'cdk.out', '.rehearsal', '.tmp', 'coverage']);

interface Verdict {
  readonly mutant: Mutant;
  readonly result: 'killed' | 'survived' | 'stale';
  readonly detail: string;
}

/** The source with the mutant planted; throws when its text is not found exactly as often as expected. */
function plant(source: string, mutant: Mutant): string {
  const occurrences = source.split(mutant.find).length - 1;
  const nth = mutant.occurrence ?? 1;
  if (occurrences === 0 || (mutant.occurrence === undefined && occurrences > 1) || nth > occurrences) {
    throw new Error(`${mutant.file}: the text to replace occurs ${occurrences} time(s)${mutant.occurrence ? `, occurrence ${nth} asked` : ', exactly 1 expected'}`);
  }
  let at = -1;
  for (let i = 0; i < nth; i += 1) at = source.indexOf(mutant.find, at + 1);
  return source.slice(0, at) + mutant.replace + source.slice(at + mutant.find.length);
}

function vitest(dir: string, tests: readonly string[], testNamePattern: string | undefined): { status: number | null; output: string } {
  const args = ['run', '--reporter=dot', ...(testNamePattern ? ['--testNamePattern', testNamePattern] : []), ...tests];
  const run = spawnSync(join(dir, 'node_modules', '.bin', 'vitest'), args, { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

async function main(only: readonly string[]): Promise<number> {
  const mutants = only.length === 0 ? PLANTED : PLANTED.filter((m) => only.includes(m.id));
  const unknown = only.filter((id) => !PLANTED.some((m) => m.id === id));
  if (unknown.length > 0) throw new Error(`no planted mutant is called ${unknown.join(', ')}; the mutants are ${PLANTED.map((m) => m.id).join(', ')}`);

  const scratch = await mkdtemp(join(tmpdir(), 'mutants-'));
  try {
    await cp(ROOT, scratch, { recursive: true, filter: (path) => !NOT_COPIED.has(relative(ROOT, path).split('/')[0]) });
    await symlink(join(ROOT, 'node_modules'), join(scratch, 'node_modules'), 'dir');

    const verdicts: Verdict[] = [];
    // vitest exits non-zero when a named file is missing: that would pass for a kill.
    const runnable = mutants.filter((mutant) => {
      const missing = mutant.tests.filter((test) => !existsSync(join(scratch, test)));
      if (missing.length === 0) return true;
      verdicts.push({ mutant, result: 'stale', detail: `no test file ${missing.join(', ')}` });
      console.log(`? ${mutant.id}: stale (no test file ${missing.join(', ')})`);
      return false;
    });

    // A kill only counts when the same tests pass without the mutant.
    const baseline = runnable.length === 0 ? null : vitest(scratch, [...new Set(runnable.flatMap((m) => m.tests))], undefined);
    if (baseline && baseline.status !== 0) {
      console.error(baseline.output);
      console.error('mutants: the named tests fail without any mutant; fix them first');
      return 1;
    }

    for (const mutant of runnable) {
      const path = join(scratch, mutant.file);
      const original = await readFile(path, 'utf8');
      let planted: string;
      try {
        planted = plant(original, mutant);
      } catch (error) {
        verdicts.push({ mutant, result: 'stale', detail: (error as Error).message });
        console.log(`? ${mutant.id}: stale (${(error as Error).message})`);
        continue;
      }
      await writeFile(path, planted);
      try {
        const run = vitest(scratch, mutant.tests, mutant.testNamePattern);
        const killed = run.status !== 0;
        verdicts.push({ mutant, result: killed ? 'killed' : 'survived', detail: mutant.tests.join(' ') });
        console.log(`${killed ? '✔' : '✖'} ${mutant.id}: ${killed ? 'killed' : 'SURVIVED'} — ${mutant.description}`);
      } finally {
        await writeFile(path, original);
      }
    }

    const killed = verdicts.filter((v) => v.result === 'killed').length;
    const survivors = verdicts.filter((v) => v.result !== 'killed');
    console.log(`\nmutation score: ${killed} of ${verdicts.length} planted mutants killed (${Math.round((killed / verdicts.length) * 100)} %)`);
    for (const v of survivors) console.log(`  ${v.result}: ${v.mutant.id} (${v.mutant.file}) — ${v.detail}`);
    return survivors.length === 0 ? 0 : 1;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2));
