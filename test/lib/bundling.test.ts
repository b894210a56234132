import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployRunbookStack } from '../../lib/deploy-runbook-stack';
import { FUNCTION_PLACEHOLDERS, functionFolder } from '../../statemachines/definition';
import { exampleInput } from './fixtures';

const FOLDERS = FUNCTION_PLACEHOLDERS.map(functionFolder);

/** The SDK clients each function may carry: the services its role has actions for, under any AWS configuration. */
const ALLOWED_CLIENTS: Record<string, string[]> = {
  'validate-input': ['client-cloudwatch'],
  'deployment-lock': ['client-s3'],
  ledger: ['client-s3', 'client-sfn'],
  // S3 and Secrets Manager beside ECS: the logical backups of a postgres database (the backup task, its records, the connection).
  preflight: ['client-cloudwatch', 'client-cloudwatch-logs', 'client-ec2', 'client-ecs', 'client-lambda', 'client-rds', 'client-s3', 'client-secrets-manager', 'client-ssm'],
  'database-snapshot': ['client-ecs', 'client-rds', 'client-s3', 'client-secrets-manager'],
  // It reads database.connection's secret.
  'data-checks': ['client-secrets-manager'],
  'deploy-target': ['client-ec2', 'client-ecs', 'client-lambda', 'client-ssm'],
  migrations: ['client-ecs', 'client-lambda'],
  'smoke-test': ['client-secrets-manager'],
  'evaluate-alarms': ['client-cloudwatch', 'client-cloudwatch-logs', 'client-secrets-manager'],
  'restore-database': ['client-ecs', 'client-rds', 'client-s3', 'client-secrets-manager'],
  // S3: the start notification reads past durations from the ledger.
  notify: ['client-s3', 'client-sns'],
};

/** The client each handler cannot work without. */
const REQUIRED_CLIENT: Record<string, string | undefined> = {
  // It reads the alarm an alarm rollback names.
  'validate-input': 'client-cloudwatch',
  'deployment-lock': 'client-s3',
  ledger: 'client-s3',
  preflight: 'client-ecs',
  'database-snapshot': 'client-rds',
  'data-checks': 'client-secrets-manager',
  'deploy-target': 'client-ecs',
  migrations: 'client-ecs',
  'smoke-test': 'client-secrets-manager',
  'evaluate-alarms': 'client-cloudwatch',
  'restore-database': 'client-rds',
  notify: 'client-sns',
};

interface Bundle {
  readonly code: string;
  readonly sources: string[];
}

function clientsIn(bundle: Bundle): string[] {
  const clients = bundle.sources.map((source) => /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(source)?.[1]).filter((c) => c !== undefined);
  return [...new Set(clients)].sort();
}

// Bundling all eleven functions with esbuild takes a while: this is the one test that does it.
describe('function bundles (real esbuild bundling)', { timeout: 300_000 }, () => {
  const outdir = mkdtempSync(join(tmpdir(), 'deploy-runbook-bundles-'));
  const bundles = new Map<string, Bundle>();

  beforeAll(() => {
    const app = new App({ outdir });
    new DeployRunbookStack(app, 'Bundled', { config: exampleInput });
    app.synth();
    for (const dir of readdirSync(outdir).filter((name) => name.startsWith('asset.'))) {
      const map = join(outdir, dir, 'index.mjs.map');
      if (!existsSync(map)) continue;
      const sources = (JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] }).sources;
      // Each bundle names its own entry among its sources: that is how it is matched to its folder.
      const entries = sources.map((source) => /lambdas\/([a-z-]+)\/handler\.ts$/.exec(source)?.[1]).filter((f) => f !== undefined);
      expect(entries, dir).toHaveLength(1);
      bundles.set(entries[0], { code: readFileSync(join(outdir, dir, 'index.mjs'), 'utf8'), sources });
    }
  }, 300_000);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('bundles each of the 11 handlers once', () => {
    expect([...bundles.keys()].sort()).toEqual([...FOLDERS].sort());
  });

  it.each(FOLDERS)('emits %s as minified ESM with a require shim and a source map', (folder) => {
    const { code } = bundles.get(folder) as Bundle;
    expect(code.startsWith("import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n")).toBe(true);
    expect(code).toMatch(/export\s*\{[^}]*\bas handler\b[^}]*\}/);
    expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
    // Minified: a handful of very long lines.
    expect(code.length / code.split('\n').length).toBeGreaterThan(1000);
  });

  it.each(FOLDERS)('puts into %s only the SDK clients that function uses, and no CDK code', (folder) => {
    const bundle = bundles.get(folder) as Bundle;
    const clients = clientsIn(bundle);
    for (const client of clients) expect(ALLOWED_CLIENTS[folder], `${folder} bundles @aws-sdk/${client}`).toContain(client);
    const required = REQUIRED_CLIENT[folder];
    if (required) expect(clients).toContain(required);
    expect(bundle.sources.filter((source) => /node_modules\/(aws-cdk-lib|constructs|cdk-nag|esbuild)\//.test(source))).toEqual([]);
  });

  it.each(FOLDERS)('bundles the configuration schema and classic zod into %s only if it is validate-input, the one function that judges the configuration', (folder) => {
    const { sources } = bundles.get(folder) as Bundle;
    const judging = sources.filter((source) => /node_modules\/zod\/v4\/classic\/|\/config\/schema\.ts$/.test(source));
    expect(judging.length > 0).toBe(folder === 'validate-input');
  });

  it('keeps the heavy clients apart: no RDS client for validate-input, no ECS client for smoke-test', () => {
    expect(clientsIn(bundles.get('validate-input') as Bundle)).not.toContain('client-rds');
    expect(clientsIn(bundles.get('smoke-test') as Bundle)).not.toContain('client-ecs');
  });
});
