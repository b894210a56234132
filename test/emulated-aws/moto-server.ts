import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../local/free-port';

const LAUNCHER = fileURLToPath(new URL('./moto/launch.py', import.meta.url));
const START_TIMEOUT_MS = 120_000;

/** What the tests tell the patched moto (see moto/launch.py): read again whenever it changes. */
export interface MotoControl {
  /** Credentials of the state machine's role: the interpreter invokes Lambda with them. */
  readonly statesCredentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken: string };
  /** Several stacks in one account: the credentials of each state machine's role, by its ARN (else statesCredentials). */
  readonly machineCredentials?: Readonly<Record<string, NonNullable<MotoControl['statesCredentials']>>>;
  /** Calls that fail after IAM has authorised them: the first `skip` matching calls pass, the next `count` fail. */
  readonly faults?: readonly {
    readonly service: string;
    readonly action: string;
    readonly error: string;
    readonly message?: string;
    readonly skip?: number;
    readonly count: number;
  }[];
  /** An activity Task (a wait for a person) times out after this fraction of its TimeoutSeconds. @default 1 */
  readonly activityTimeScale?: number;
  /**
   * The scenario running on a stack deployed once for its file (EmulatedAws.isolate): each new value puts every fake
   * host back on `ssmHosts.initialVersion`, as a freshly reset moto would. @default 0
   */
  readonly scenario?: number;
  /** The fake hosts SSM Run Command runs `tier-host …` scripts on (moto/launch.py). */
  readonly ssmHosts?: {
    /** The version every instance runs until a command changes it. @default 'v1' */
    readonly initialVersion?: string;
    /** `tier-host ready <version>` fails on this instance while it runs that version. */
    readonly failReady?: Readonly<Record<string, string>>;
  };
  /**
   * Task definition families whose RunTask runs the containers' commands here (moto/launch.py): the PostgreSQL
   * programs from `localBin`, the AWS SDK from `sdkDir`, calls to moto at `endpoint` with the task role's credentials,
   * the `secrets` read as the execution role.
   */
  readonly bridge?: Readonly<Record<string, BridgedTask>>;
  readonly ecs?: {
    /** Seconds a rollout stays IN_PROGRESS. @default 0.2 */
    readonly rolloutSeconds?: number;
    /** Images whose rollout FAILED (the circuit breaker gives up). */
    readonly failingImages?: readonly string[];
    /** Seconds a one-off task runs. @default 0.2 */
    readonly taskSeconds?: number;
    /** Exit code of a one-off task by the image of its task definition. @default 0 */
    readonly taskExitCodes?: Readonly<Record<string, number>>;
  };
}

type RoleCredentials = { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken: string };

/** How moto/launch.py runs a task definition's containers locally. */
export interface BridgedTask {
  readonly localBin: string;
  readonly sdkDir: string;
  readonly endpoint: string;
  /** The task role's: what the containers sign with. */
  readonly credentials: RoleCredentials;
  /** The execution role's: what ECS reads the containers' `secrets` with. */
  readonly executionCredentials: RoleCredentials;
  /**
   * The emulated network's names, as the functions resolve them (FunctionHost.hosts): the Node containers get
   * `dnsPreload` (tier-dns.mjs) through NODE_OPTIONS, libpq's programs PGHOSTADDR when PGHOST is one of the names.
   */
  readonly hosts?: Readonly<Record<string, string>>;
  readonly dnsPreload?: string;
}

/** A line a bridged task's container wrote (moto/launch.py appends them when the task stops). */
export interface TaskOutput {
  readonly task: string;
  readonly container: string;
  readonly line: string;
}

/** One script SSM Run Command ran on a fake host, as moto/launch.py logs it: the host's version after it. */
export interface HostRun {
  readonly host: string;
  readonly script: string;
  readonly comment: string;
  readonly exit: number;
  readonly version: string;
}

/** One authorisation decision, as the patched moto logs it. */
export interface AuthorizationRecord {
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
  /** The API call that needed it, e.g. `ecs:RegisterTaskDefinition` for an implicit `iam:PassRole`. */
  readonly request: string;
}

/**
 * moto on 127.0.0.1 and a free port, patched for the tier by moto/launch.py. Requests are not authenticated
 * until `enforceIam()`: the tests set the world up first, then every call is checked against IAM.
 */
export class MotoServer {
  private current: MotoControl = {};

  private constructor(
    private readonly process: ChildProcess,
    readonly endpoint: string,
    private readonly dir: string,
    private readonly output: string[],
  ) {}

  static async start(functionHostUrl: string, timeScale = 0.001): Promise<MotoServer> {
    requireMoto();
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'deploy-runbook-moto-'));
    writeFileSync(join(dir, 'control.json'), '{}');
    writeFileSync(join(dir, 'requests.jsonl'), '');
    const child = spawn('python3', [LAUNCHER], {
      env: {
        ...process.env,
        MOTO_PORT: String(port),
        FUNCTION_HOST_URL: functionHostUrl,
        TIER_CONTROL_FILE: join(dir, 'control.json'),
        TIER_REQUEST_LOG: join(dir, 'requests.jsonl'),
        TIER_HOST_LOG: join(dir, 'hosts.jsonl'),
        TIER_TASK_LOG: join(dir, 'tasks.jsonl'),
        TIER_TIME_SCALE: String(timeScale),
        // A service's first deployment starts with this many running tasks: the world's services are steady.
        MOTO_ECS_SERVICE_RUNNING: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    const server = new MotoServer(child, `http://127.0.0.1:${port}`, dir, output);
    // A moto that never answered must not outlive the test file that started it.
    await server.waitUntilUp().catch(async (error: unknown) => {
      await server.stop();
      throw error;
    });
    return server;
  }

  /** From now on every request is signed by a known principal and checked against its policies. */
  async enforceIam(): Promise<void> {
    const response = await fetch(`${this.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
    if (!response.ok) throw new Error(`moto refused reset-auth: ${response.status}`);
  }

  control(control: MotoControl): void {
    this.current = control;
    writeFileSync(join(this.dir, 'control.json'), JSON.stringify(control));
  }

  currentControl(): MotoControl {
    return this.current;
  }

  /** Every authorisation moto decided since the start (or the last `clearAuthorizations`). */
  authorizations(): AuthorizationRecord[] {
    const file = join(this.dir, 'requests.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as AuthorizationRecord);
  }

  /** Every script SSM Run Command ran on a fake host since the start (or the last `clearAuthorizations`), in order. */
  hostRuns(): HostRun[] {
    return this.jsonLines<HostRun>('hosts.jsonl');
  }

  /** What the containers of bridged tasks wrote, for every task that stopped since the start (or the last `clearAuthorizations`). */
  taskOutput(): TaskOutput[] {
    return this.jsonLines<TaskOutput>('tasks.jsonl');
  }

  private jsonLines<T>(name: string): T[] {
    const file = join(this.dir, name);
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim())
      .map((line) => JSON.parse(line) as T);
  }

  clearAuthorizations(): void {
    writeFileSync(join(this.dir, 'tasks.jsonl'), '');
    writeFileSync(join(this.dir, 'hosts.jsonl'), '');
    writeFileSync(join(this.dir, 'requests.jsonl'), '');
  }

  /** What moto printed: request lines and tracebacks, for a failing test's message. */
  log(lines = 60): string {
    return this.output.join('').split('\n').slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      const exited = new Promise((resolve) => this.process.once('exit', resolve));
      this.process.kill('SIGTERM');
      // Executions still waiting (a task token, a long Wait) keep moto's threads alive past SIGTERM.
      const killer = setTimeout(() => this.process.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async waitUntilUp(): Promise<void> {
    // Importing moto and its patches takes seconds, and over a minute at a load average of 20 on 2 shared vCPUs.
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (this.process.exitCode !== null) throw new Error(`moto exited with ${this.process.exitCode}:\n${this.log()}`);
      try {
        const response = await fetch(`${this.endpoint}/moto-api/`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`moto did not answer on ${this.endpoint} within ${START_TIMEOUT_MS / 1000} s:\n${this.log()}`);
  }
}

/** The tier needs moto 5.2 with its server; say how to get it rather than fail somewhere inside. */
function requireMoto(): void {
  const probe = spawnSync('python3', ['-c', 'import moto, flask, jsonpath_ng; print(moto.__version__)'], { encoding: 'utf8' });
  const version = probe.stdout?.trim() ?? '';
  if (probe.status !== 0 || !/^5\.[2-9]\./.test(version)) {
    throw new Error(
      `the emulated-AWS tier needs python3 with moto >= 5.2 and its server (found: ${version || (probe.error?.message ?? probe.stderr?.trim().split('\n').pop())}); install it with: pip install 'moto[server]>=5.2,<6'`,
    );
  }
}
