import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, parseConfig } from '../../config/load';
import { exampleDraft, minimalDraft } from './fixtures';

const EXAMPLE_PATH = fileURLToPath(new URL('../../config/example.json', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'deploy-runbook-config-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The ConfigError loadConfigFile throws for `path`; fails the test when it loads. */
function loadError(path: string): ConfigError {
  try {
    loadConfigFile(path);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`expected ${path} to be refused`);
}

describe('loadConfigFile', () => {
  it('loads config/example.json into the same configuration parseConfig makes of it', () => {
    expect(loadConfigFile(EXAMPLE_PATH)).toEqual(parseConfig(exampleDraft()));
  });

  it('loads a file saved with a byte-order mark', () => {
    const path = write('bom.json', `\uFEFF${JSON.stringify(minimalDraft())}`);

    expect(loadConfigFile(path).name).toBe('shop-api');
  });

  it('fails when the file does not exist, naming the file', () => {
    const path = join(dir, 'missing.json');

    const error = loadError(path);
    expect(error.source).toBe(path);
    expect(error.problems).toEqual([expect.stringMatching(/^cannot be read: ENOENT/)]);
    expect(error.message).toMatch(new RegExp(`^${path.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a valid deploy-runbook configuration:\\n  - cannot be read: ENOENT`));
  });

  it('fails when the path is a directory, naming it', () => {
    const error = loadError(dir);
    expect(error.source).toBe(dir);
    expect(error.problems).toEqual([expect.stringMatching(/^cannot be read: EISDIR/)]);
  });

  it.each([
    ['a trailing comma', '{"name": "shop-api",}'],
    ['a truncated file', '{"name": "shop-api", "target": {'],
    ['comments', '// runbook\n{"name": "shop-api"}'],
    ['an empty file', ''],
    ['YAML', 'name: shop-api\ntarget:\n  kind: hook\n'],
  ])('fails when the file holds malformed JSON (%s), naming the file', (_case, text) => {
    const path = write('malformed.json', text);

    const error = loadError(path);
    expect(error.source).toBe(path);
    expect(error.problems).toEqual([expect.stringMatching(/^is not valid JSON: /)]);
    expect(error.message.startsWith(`${path} is not a valid deploy-runbook configuration:\n  - is not valid JSON: `)).toBe(true);
  });

  it('fails when the JSON is valid but the configuration is not, naming the file and each field', () => {
    const path = write('invalid.json', JSON.stringify({ ...minimalDraft(), name: 'Shop', bake: { durationSeconds: -1 } }));

    const error = loadError(path);
    expect(error.source).toBe(path);
    expect(error.problems).toEqual([
      'name: must be 2-40 lowercase letters, digits or hyphens, starting with a letter (got "Shop")',
      'bake.durationSeconds: Too small: expected number to be >=0 (got -1)',
    ]);
  });
});
