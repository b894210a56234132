import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

const RUNTIME = fileURLToPath(new URL('./lambda-runtime.mjs', import.meta.url));

/** A deployed function as the host runs it: its bundle, handler, limits and the environment Lambda would set. */
export interface HostedFunction {
  /** The physical function name moto knows (what the state machine's ARNs end with). */
  readonly name: string;
  readonly arn: string;
  /** The bundle's directory in cdk.out (Lambda's /var/task). */
  readonly taskRoot: string;
  /** `index.handler`. */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The template's variables plus the credentials of the function's role and the AWS endpoint. */
  readonly environment: Readonly<Record<string, string>>;
}

/** One invocation, as a test inspects it afterwards. */
export interface Invocation {
  readonly functionName: string;
  readonly event: unknown;
  /** The returned value, or the `{errorType, errorMessage, trace}` of a failure. */
  readonly result: unknown;
  readonly functionError: 'Unhandled' | null;
  readonly ms: number;
}

interface Environment {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
}

type RuntimeMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: { errorType: string; errorMessage: string } }
  | { type: 'result'; id: string; ok: boolean; payload: string };

/**
 * Runs the functions' bundles the way Lambda's Node.js runtime does, one child process per execution
 * environment (kept warm, a second one started when the first is busy), and answers the invocations moto
 * forwards to it over HTTP. Every invocation and every log line is kept for the tests.
 */
export class FunctionHost {
  readonly invocations: Invocation[] = [];
  readonly logs: { readonly functionName: string; readonly line: string }[] = [];
  private readonly byName = new Map<string, HostedFunction>();
  private readonly idle = new Map<string, Environment[]>();
  private readonly all = new Set<ChildProcess>();

  private constructor(
    private readonly server: Server,
    /**
     * Host names the functions' network resolves, e.g. the smoke-tested app's; `*.suffix` for every name under it
     * (tier-dns.mjs). Bridged tasks resolve the same names (deployed-stack.ts).
     */
    readonly hosts: Readonly<Record<string, string>>,
  ) {}

  /** Starts the HTTP endpoint moto's Lambda invoke is routed to; functions are added once deployed. */
  static async start(hosts: Readonly<Record<string, string>> = {}): Promise<FunctionHost> {
    const server = createServer();
    const host = new FunctionHost(server, hosts);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const { functionName, payload } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { functionName: string; payload: string };
        host
          .invoke(functionName, JSON.parse(payload))
          .then((answer) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer)))
          .catch((error: Error) => response.writeHead(500).end(error.message));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return host;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  register(fn: HostedFunction): void {
    this.byName.set(fn.name, fn);
  }

  /** Starts one execution environment per function now, so that cold starts overlap instead of adding up. */
  async prewarm(): Promise<void> {
    await Promise.all(
      [...this.byName.values()].map(async (fn) => {
        const environment = this.spawn(fn);
        await environment.ready.catch(() => undefined);
        const pool = this.idle.get(fn.name) ?? [];
        this.idle.set(fn.name, pool);
        pool.push(environment);
      }),
    );
  }

  /** Forgets every function, environment, invocation and log line: the next stack is deployed from scratch. */
  reset(): void {
    for (const child of this.all) child.kill('SIGKILL');
    this.all.clear();
    this.byName.clear();
    this.idle.clear();
    this.forget();
  }

  /** Forgets the invocations and log lines so far; the functions and their warm environments stay (the same stack's next scenario). */
  forget(): void {
    this.invocations.length = 0;
    this.logs.length = 0;
  }

  /** The function whose physical name contains `fragment` (e.g. `SmokeTestFunction`). */
  find(fragment: string): HostedFunction {
    const matches = [...this.byName.values()].filter((fn) => fn.name.includes(fragment));
    if (matches.length !== 1) throw new Error(`${matches.length} deployed functions match "${fragment}"`);
    return matches[0];
  }

  /** Invokes a function as Lambda's RequestResponse invoke would: the payload string, and the error flag. */
  async invoke(functionName: string, event: unknown): Promise<{ payload: string; functionError: 'Unhandled' | null }> {
    const fn = this.byName.get(functionName) ?? this.byName.get(functionName.split(':').pop() ?? '');
    if (!fn) throw new Error(`no deployed function named ${functionName}`);
    const started = Date.now();
    const answer = await this.run(fn, event);
    this.invocations.push({ functionName: fn.name, event, result: JSON.parse(answer.payload), functionError: answer.functionError, ms: Date.now() - started });
    return answer;
  }

  /** Log lines the functions wrote whose text contains `text`. */
  logsContaining(text: string): string[] {
    return this.logs.filter((entry) => entry.line.includes(text)).map((entry) => `${entry.functionName}: ${entry.line}`);
  }

  async stop(): Promise<void> {
    for (const child of this.all) child.kill('SIGKILL');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async run(fn: HostedFunction, event: unknown): Promise<{ payload: string; functionError: 'Unhandled' | null }> {
    const pool = this.idle.get(fn.name) ?? [];
    this.idle.set(fn.name, pool);
    const environment = pool.pop() ?? this.spawn(fn);
    try {
      await environment.ready;
    } catch (error) {
      this.retire(environment);
      return { payload: JSON.stringify((error as { lambdaError: unknown }).lambdaError), functionError: 'Unhandled' };
    }
    const id = randomUUID();
    const deadline = Date.now() + fn.timeoutSeconds * 1000;
    const answer = await new Promise<{ ok: boolean; payload: string } | 'timeout' | 'crash'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), fn.timeoutSeconds * 1000);
      const onMessage = (message: RuntimeMessage) => {
        if (message.type !== 'result' || message.id !== id) return;
        clearTimeout(timer);
        environment.child.off('message', onMessage);
        environment.child.off('exit', onExit);
        resolve(message);
      };
      const onExit = () => {
        clearTimeout(timer);
        resolve('crash');
      };
      environment.child.on('message', onMessage);
      environment.child.once('exit', onExit);
      environment.child.send({ type: 'invoke', id, event, requestId: id, deadline, functionArn: fn.arn, traceId: traceHeader() });
    });
    if (answer === 'timeout' || answer === 'crash') {
      // Lambda discards an environment that timed out or crashed.
      this.retire(environment);
      const errorMessage = answer === 'timeout' ? `Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds` : 'Runtime exited without providing a reason';
      return { payload: JSON.stringify({ errorType: answer === 'timeout' ? 'Sandbox.Timedout' : 'Runtime.ExitError', errorMessage }), functionError: 'Unhandled' };
    }
    pool.push(environment);
    return { payload: answer.payload, functionError: answer.ok ? null : 'Unhandled' };
  }

  private spawn(fn: HostedFunction): Environment {
    const child = fork(RUNTIME, [], {
      // Plain node, without the test runner's loaders: the bundle runs as built.
      execArgv: [],
      // Lambda's environment, not the test process's.
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...lambdaVariables(fn),
        ...fn.environment,
        TIER_TASK_ROOT: fn.taskRoot,
        TIER_HANDLER: fn.handler,
        TIER_HOSTS: JSON.stringify(this.hosts),
      },
      cwd: fn.taskRoot,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.all.add(child);
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream?.on('data', (chunk: Buffer) => {
        const lines = (pending + chunk.toString('utf8')).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) if (line.trim()) this.logs.push({ functionName: fn.name, line });
      });
    }
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', (message: RuntimeMessage) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'init-error') reject(Object.assign(new Error(message.error.errorMessage), { lambdaError: message.error }));
      });
      child.once('exit', (code) => reject(Object.assign(new Error(`exited with ${code}`), { lambdaError: { errorType: 'Runtime.ExitError', errorMessage: `exited with ${code}` } })));
    });
    ready.catch(() => undefined);
    return { child, ready };
  }

  private retire(environment: Environment): void {
    environment.child.kill('SIGKILL');
    this.all.delete(environment.child);
  }
}

/** The variables Lambda's Node.js runtime sets in every execution environment. */
function lambdaVariables(fn: HostedFunction): Record<string, string> {
  const region = fn.arn.split(':')[3];
  return {
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomBytes(16).toString('hex')}`,
    LAMBDA_TASK_ROOT: fn.taskRoot,
    _HANDLER: fn.handler,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    // Traces are not sampled (Sampled=0), so nothing is sent; the port only has to be valid.
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
  };
}

function traceHeader(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0;Lineage=1:${randomBytes(4).toString('hex')}:0`;
}
