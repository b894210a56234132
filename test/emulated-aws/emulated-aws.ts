import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { clientConfig, type DeployedStack, deployStack, deployStacks } from './deployed-stack';
import { FunctionHost } from './function-host';
import { type AuthorizationRecord, type MotoControl, MotoServer } from './moto-server';
import { PLAN_RUNBOOKS, PLAN_STACK, type SynthesizedTier, synthesizeTier, type TierStackName } from './stacks';
import { createWorld, FakeApp, type World } from './world';

/** What a scenario may tell the patched moto: everything but the credentials the deploy set. */
type TierControl = Omit<MotoControl, 'statesCredentials' | 'machineCredentials'>;

/** How an execution ended, read back from moto's Step Functions the way the CLI reads it from AWS. */
export interface Ended {
  readonly status: string;
  /** The Fail state's Error, e.g. `RolledBack`; null for a success. */
  readonly error: string | null;
  readonly cause: string | null;
  /** Every state entered, in order. */
  readonly states: readonly string[];
  /** The terminal state (a Succeed or Fail state's name). */
  readonly end: string;
  readonly events: readonly HistoryEvent[];
}

/**
 * The emulated-AWS tier in one object: the synthesized stacks, moto (patched by moto/launch.py), the function
 * host running the cdk.out bundles, and the fake app the smoke tests reach. `deploy` starts each scenario from
 * a freshly reset account.
 */
export class EmulatedAws {
  stack!: DeployedStack;
  world!: World;
  private readonly history: AuthorizationRecord[] = [];

  private constructor(
    readonly tier: SynthesizedTier,
    readonly moto: MotoServer,
    readonly host: FunctionHost,
    readonly app: FakeApp,
  ) {}

  /**
   * `hosts`: more names the functions' network resolves, besides the app's (e.g. a fake Prometheus). `timeScale`: the
   * fraction of their seconds Wait states, Retry intervals and execution timeouts last (moto/launch.py). @default 0.001
   */
  static async start(hosts: Readonly<Record<string, string>> = {}, timeScale?: number): Promise<EmulatedAws> {
    const tier = await synthesizeTier();
    const app = new FakeApp();
    await app.listen();
    const host = await FunctionHost.start({ ...hosts, ...app.hosts });
    const moto = await MotoServer.start(host.url, timeScale);
    return new EmulatedAws(tier, moto, host, app);
  }

  /** Every authorisation moto decided in this file's scenarios so far (its own log is cleared with each deploy). */
  allAuthorizations(): AuthorizationRecord[] {
    return [...this.history, ...this.moto.authorizations()];
  }

  /** Resets moto, deploys `name`, creates the world its configuration names, then enforces IAM. */
  async deploy(name: TierStackName, control: TierControl = {}): Promise<DeployedStack> {
    this.history.push(...this.moto.authorizations());
    this.host.reset();
    this.app.versions = {};
    this.stack = await deployStack(this.moto, this.host, this.tier, name);
    [this.world] = await Promise.all([createWorld(this.moto.endpoint, this.stack.admin, name, this.app), this.host.prewarm()]);
    await this.enforce(control);
    return this.stack;
  }

  /**
   * Resets moto and deploys the release plan stack with the two runbooks its plans run (stacks.ts PLAN_RUNBOOKS), as
   * one app: the runbooks first (they export what the plan stack imports). `stack` is then the plan stack; the world
   * is the production runbook's (its hosts, the staging one among them). Functions start cold: 25 warm processes
   * would crowd the machine, and a plan runs one child at a time.
   */
  async deployPlans(control: TierControl = {}): Promise<{ staging: DeployedStack; production: DeployedStack; plans: DeployedStack }> {
    this.history.push(...this.moto.authorizations());
    this.host.reset();
    this.app.versions = {};
    const [staging, production, plans] = await deployStacks(this.moto, this.host, this.tier, [PLAN_RUNBOOKS.staging, PLAN_RUNBOOKS.production, PLAN_STACK]);
    this.stack = plans;
    this.world = await createWorld(this.moto.endpoint, plans.admin, PLAN_RUNBOOKS.production, this.app);
    await this.enforce(control);
    return { staging, production, plans };
  }

  private async enforce(control: TierControl): Promise<void> {
    this.setControl(control);
    this.moto.clearAuthorizations();
    await this.moto.enforceIam();
  }

  /** Changes faults and ECS behaviour; the state machines' credentials stay. */
  setControl(control: TierControl): void {
    this.moto.control({ ...this.currentControl(), ...control });
  }

  /** Clients acting as the operator. */
  get operator() {
    const config = clientConfig(this.moto.endpoint, this.stack.admin);
    return { sfn: new SFNClient(config), s3: new S3Client(config), config };
  }

  /** Environment for a CLI child process acting as the operator against moto. */
  get cliEnv(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL: this.moto.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: this.stack.admin.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.stack.admin.secretAccessKey,
    };
  }

  async startExecution(input: unknown, name = `tier-${Date.now()}-${Math.floor(Math.random() * 1e6)}`): Promise<string> {
    const started = await this.operator.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stack.stateMachineArn, name, input: JSON.stringify(input) }));
    return started.executionArn ?? '';
  }

  /** Waits for the execution to end (or `until` to hold on its history) and reads its history. */
  async waitFor(executionArn: string, until?: (states: readonly string[]) => boolean, timeoutMs = 120_000): Promise<Ended> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = await this.describe(executionArn);
      // The history is costly for moto to build: read it only when the caller waits for a state, or at the end.
      if (execution.status !== 'RUNNING') return this.ended(executionArn, execution);
      if (until) {
        const ended = await this.ended(executionArn, execution);
        if (until(ended.states)) return ended;
      }
      if (Date.now() > deadline) {
        const { states } = await this.ended(executionArn, execution);
        throw new Error(`${executionArn} still RUNNING after ${timeoutMs} ms; states: ${states.join(' → ')}`);
      }
      await new Promise((resolve) => setTimeout(resolve, until ? 250 : 100));
    }
  }

  /** Executions of the state machine other than `known`, newest first: those a rule started. */
  async otherExecutions(known: readonly string[]): Promise<string[]> {
    const listed = await this.operator.sfn.send(new ListExecutionsCommand({ stateMachineArn: this.stack.stateMachineArn }));
    return (listed.executions ?? []).map((e) => e.executionArn ?? '').filter((arn) => !known.includes(arn));
  }

  /** Waits until the rule has started `count` executions besides `known`. */
  async ruleStarted(known: readonly string[], count = 1, timeoutMs = 20_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const others = await this.otherExecutions(known);
      if (others.length >= count) return others;
      if (Date.now() > deadline) throw new Error(`no execution was started by the alarm rule within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The errorType each bundle reported, over every invocation of this scenario. */
  reportedErrors(): string[] {
    return this.host.invocations.filter((i) => i.functionError).map((i) => (i.result as { errorType: string }).errorType);
  }

  async run(input: unknown): Promise<Ended> {
    return this.waitFor(await this.startExecution(input));
  }

  /** An object in the runbook's bucket, parsed; null when it does not exist. */
  async artifact<T>(key: string): Promise<T | null> {
    try {
      const object = await this.operator.s3.send(new GetObjectCommand({ Bucket: this.stack.bucketName, Key: key }));
      return JSON.parse(await (object.Body?.transformToString() ?? 'null')) as T;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return null;
      throw error;
    }
  }

  /** Authorisations moto refused since the scenario started. */
  denied(): AuthorizationRecord[] {
    return this.moto.authorizations().filter((record) => !record.allowed);
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.host.stop(), this.moto.stop(), this.app.close()]);
  }

  private currentControl(): MotoControl {
    return this.moto.currentControl();
  }

  private describe(executionArn: string): Promise<DescribeExecutionCommandOutput> {
    return this.operator.sfn.send(new DescribeExecutionCommand({ executionArn }));
  }

  private async ended(executionArn: string, execution: DescribeExecutionCommandOutput): Promise<Ended> {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.operator.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    const states = events.filter((e) => e.stateEnteredEventDetails).map((e) => e.stateEnteredEventDetails?.name ?? '');
    return {
      status: execution.status ?? 'UNKNOWN',
      error: execution.error ?? null,
      cause: execution.cause ?? null,
      states,
      end: states.at(-1) ?? '',
      events,
    };
  }
}
