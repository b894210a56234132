import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';
import { FUNCTION_BUNDLING, PROJECT_ROOT } from '../lib/runbook-function';
import { FUNCTION_PLACEHOLDERS, functionFolder } from '../statemachines/definition';

/** Packages that are the AWS SDK (and the few it pulls in); what the single-client handler bundles counts too. */
const SDK_PACKAGE = /^(@aws-sdk|@smithy|@aws-crypto)\//;
/** The X-Ray SDK and what it pulls in, bundled by Powertools Tracer. */
const XRAY_PACKAGE = /^(aws-xray-sdk-core|semver|cls-hooked|async-hook-jl|emitter-listener|shimmer|stack-chain|@types\/cls-hooked)$/;
const KIB = 1024;

/** One bundle: its size, what it carries besides the AWS SDK, and how long loading it takes. */
export interface BundleFigures {
  readonly name: string;
  readonly bytes: number;
  /** Bytes of the AWS SDK clients and their dependencies. */
  readonly sdkBytes: number;
  /** bytes - sdkBytes: what the function adds beyond its SDK clients. */
  readonly addedBytes: number;
  /** Bytes of zod (any entry point) in the bundle. */
  readonly zodBytes: number;
  /** Bytes of the X-Ray SDK that Powertools Tracer bundles. */
  readonly xrayBytes: number;
  /** Median milliseconds to import the bundle in a fresh Node.js process (module init). */
  readonly initMs: number;
  /** initMs / the single-client handler's initMs, measured in the same rounds. */
  readonly initRatio: number;
}

export interface BundlesBenchOptions {
  /** Fresh processes per bundle. @default BENCH_INIT_ROUNDS or 15 */
  readonly rounds?: number;
  readonly log?: (line: string) => void;
}

/** The package a bundled input belongs to, or null for the project's own code. */
function packageOf(input: string): string | null {
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
  return match ? match[1] : null;
}

async function bundle(entry: string, outfile: string): Promise<Metafile> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    metafile: true,
    logLevel: 'error',
    minify: FUNCTION_BUNDLING.minify,
    keepNames: FUNCTION_BUNDLING.keepNames,
    sourcemap: FUNCTION_BUNDLING.sourceMap,
    sourcesContent: FUNCTION_BUNDLING.sourcesContent,
    format: 'esm',
    banner: { js: FUNCTION_BUNDLING.banner },
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    target: FUNCTION_BUNDLING.target,
  });
  return result.metafile;
}

/** Milliseconds from `import()` to a loaded module, in a fresh process with a Lambda-like environment. */
function importMs(file: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  const env = {
    ...process.env,
    AWS_REGION: 'eu-west-1',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    RUNBOOK_BUCKET: 'bench',
    POWERTOOLS_SERVICE_NAME: 'deploy-runbook',
  };
  return Number(execFileSync(process.execPath, ['--no-warnings', '--input-type=module', '-e', script], { env, encoding: 'utf8' }));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Bundles every function's handler with the settings the stack uses, a handler bundling only
 * `@aws-sdk/client-s3`, and that handler with the functions' Powertools wiring (Logger, Tracer, middy);
 * reports each bundle's size, what it adds beyond the AWS SDK, and its module init time against the
 * single-client handler, all imported in the same rounds so that they see the same machine.
 */
export async function run(options: BundlesBenchOptions = {}): Promise<BundleFigures[]> {
  const rounds = options.rounds ?? Number(process.env.BENCH_INIT_ROUNDS ?? 15);
  const log = options.log ?? ((line: string) => console.log(line));
  const dir = await mkdtemp(join(tmpdir(), 'bench-bundles-'));
  try {
    const entries = [
      { name: 'single-client', entry: join(PROJECT_ROOT, 'bench', 'single-client-handler.ts') },
      { name: 'powertools-floor', entry: join(PROJECT_ROOT, 'bench', 'powertools-handler.ts') },
      ...FUNCTION_PLACEHOLDERS.map(functionFolder).map((name) => ({ name, entry: join(PROJECT_ROOT, 'lambdas', name, 'handler.ts') })),
    ];
    const built = [];
    for (const { name, entry } of entries) {
      const file = join(dir, `${name}.mjs`);
      const metafile = await bundle(entry, file);
      built.push({ name, file, metafile, bytes: (await stat(file)).size });
    }
    const sdkPackages = new Set(
      Object.keys(built[0].metafile.inputs)
        .map(packageOf)
        .filter((p) => p !== null),
    );
    const times = new Map<string, number[]>(built.map(({ name }) => [name, []]));
    for (let round = 0; round < rounds; round++) for (const { name, file } of built) times.get(name)?.push(importMs(file));
    const baselineMs = median(times.get('single-client') ?? []);

    const figures = built.map(({ name, metafile, bytes }): BundleFigures => {
      const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined);
      const inputs = Object.entries(output?.inputs ?? {}).map(([path, { bytesInOutput }]) => ({ pkg: packageOf(path), bytes: bytesInOutput }));
      const sum = (match: (pkg: string) => boolean) => inputs.filter(({ pkg }) => pkg !== null && match(pkg)).reduce((total, { bytes: b }) => total + b, 0);
      const sdkBytes = sum((pkg) => SDK_PACKAGE.test(`${pkg}/`) || sdkPackages.has(pkg));
      const initMs = median(times.get(name) ?? []);
      return {
        name,
        bytes,
        sdkBytes,
        addedBytes: bytes - sdkBytes,
        zodBytes: sum((pkg) => pkg === 'zod'),
        xrayBytes: sum((pkg) => XRAY_PACKAGE.test(pkg)),
        initMs: Number(initMs.toFixed(1)),
        initRatio: Number((initMs / baselineMs).toFixed(2)),
      };
    });
    for (const f of figures) log(JSON.stringify({ bench: 'bundles', rounds, ...f }));
    log(`bundles (minified ESM as deployed; init = median of ${rounds} imports in fresh processes):`);
    log(
      `  ${'function'.padEnd(18)} ${'bundle'.padStart(9)} ${'AWS SDK'.padStart(9)} ${'added'.padStart(9)} ${'zod'.padStart(8)} ${'X-Ray'.padStart(8)} ${'init'.padStart(9)} ${'x s3-only'.padStart(10)}`,
    );
    for (const f of figures) {
      log(
        `  ${f.name.padEnd(18)} ${kib(f.bytes).padStart(9)} ${kib(f.sdkBytes).padStart(9)} ${kib(f.addedBytes).padStart(9)} ${kib(f.zodBytes).padStart(8)} ${kib(f.xrayBytes).padStart(8)} ${`${f.initMs.toFixed(0)} ms`.padStart(9)} ${f.initRatio.toFixed(2).padStart(10)}`,
      );
    }
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function kib(bytes: number): string {
  return `${(bytes / KIB).toFixed(0)} KB`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
