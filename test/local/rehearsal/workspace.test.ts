import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultWorkdir, openWorkspace, PACKAGE_ROOT, Teardown } from '../../../local/rehearsal/workspace';
import { useTempDirs } from './fake-ports';

const tempDir = useTempDirs();

describe('Teardown', () => {
  it('runs the steps last-registered first, once, and goes on past a failed one', async () => {
    const ran: string[] = [];
    const teardown = new Teardown();
    teardown.add('stop PostgreSQL', async () => ran.push('postgres'));
    teardown.add('stop the app', async () => {
      ran.push('app');
      throw new Error('kill ESRCH');
    });
    teardown.add('stop the traffic', async () => ran.push('traffic'));

    expect(await teardown.run()).toEqual(['stop the app: kill ESRCH']);
    expect(await teardown.run()).toEqual([]);
    expect(ran).toEqual(['traffic', 'app', 'postgres']);
  });
});

describe('workspace', () => {
  it('defaults to .rehearsal/<time>-<scenario> under the current directory', () => {
    expect(defaultWorkdir('/home/dev/shop', 'alarm', new Date('2025-03-04T05:06:07.890Z'))).toBe('/home/dev/shop/.rehearsal/20250304050607-alarm');
  });

  it('holds the store and a log of the processes, with a timestamp per line', async () => {
    const dir = join(await tempDir(), 'ws');

    const workspace = await openWorkspace(dir);
    workspace.log('[v1] demo-app v1 listening');
    await workspace.close();

    expect(workspace.storeDir).toBe(join(dir, 'store'));
    expect(await readFile(workspace.logPath, 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\S+Z \[v1\] demo-app v1 listening\n$/);
  });

  it('knows the package root, where the built-in configuration names its files from', async () => {
    expect(JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8'))).toMatchObject({ name: 'deploy-runbook' });
  });
});
