import { CloudWatchClient, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectVersionsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { clientConfig, type DeployedStack, deployStack, deployStacks } from './deployed-stack';
import { FunctionHost } from './function-host';
import { type AuthorizationRecord, type MotoControl, MotoServer } from './moto-server';
import { ALARMS, PLAN_RUNBOOKS, PLAN_STACK, type SynthesizedTier, synthesizeTier, TIER_STACKS, type TierStackName } from './stacks';
import { createWorld, FakeApp, resetAliasedFunction, resetDatabase, type World, type WorldOptions } from './world';

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
  private parts?: { readonly tier: SynthesizedTier; readonly moto: MotoServer; readonly host: FunctionHost; readonly app: FakeApp };
  /**
   * The stack the last `deploy` deployed, moto's control as its deploy set it (before the scenario's faults and ECS
   * behaviour) and the options its world was created with: what `isolate` goes back to.
   */
  private deployed?: { readonly name: TierStackName; readonly control: MotoControl; readonly world: WorldOptions };
  private scenario = 0;
  /** Executions that existed when the scenario started (the file's earlier scenarios'): never this scenario's. */
  private earlier = new Set<string>();
  /** A start still under way when a hook timed out: `stop` waits for it, so that no moto outlives its file. */
  private launching?: Promise<void>;

  private constructor() {}

  /**
   * `hosts`: more names the functions' network resolves, besides the app's (e.g. a fake Prometheus). `timeScale`: the
   * fraction of their seconds Wait states, Retry intervals and execution timeouts last (moto/launch.py). @default 0.001
   */
  static async start(hosts: Readonly<Record<string, string>> = {}, timeScale?: number): Promise<EmulatedAws> {
    const aws = new EmulatedAws();
    await aws.launch(hosts, timeScale);
    return aws;
  }

  /** Not started yet: `useEmulatedAws` starts it in the file's beforeAll. */
  static unstarted(): EmulatedAws {
    return new EmulatedAws();
  }

  /** Starts what `unstarted` made: the synthesized tier, the fake app, the function host and moto (see `start`). */
  launch(hosts: Readonly<Record<string, string>> = {}, timeScale?: number): Promise<void> {
    this.launching = this.startParts(hosts, timeScale);
    return this.launching;
  }

  private async startParts(hosts: Readonly<Record<string, string>>, timeScale?: number): Promise<void> {
    const tier = await synthesizeTier();
    const app = new FakeApp();
    await app.listen();
    const host = await FunctionHost.start({ ...hosts, ...app.hosts });
    const moto = await MotoServer.start(host.url, timeScale).catch(async (error: unknown) => {
      await Promise.allSettled([host.stop(), app.close()]);
      throw error;
    });
    this.parts = { tier, moto, host, app };
  }

  private get started() {
    if (!this.parts) throw new Error('the emulated-AWS tier is not started (useEmulatedAws starts it in beforeAll, EmulatedAws.start at once)');
    return this.parts;
  }

  get tier(): SynthesizedTier {
    return this.started.tier;
  }

  get moto(): MotoServer {
    return this.started.moto;
  }

  get host(): FunctionHost {
    return this.started.host;
  }

  get app(): FakeApp {
    return this.started.app;
  }

  /** Every authorisation moto decided in this file's scenarios so far (its own log is cleared with each deploy). */
  allAuthorizations(): AuthorizationRecord[] {
    return [...this.history, ...this.moto.authorizations()];
  }

  /** Resets moto, deploys `name`, creates the world its configuration names (as `world` says), then enforces IAM. */
  async deploy(name: TierStackName, control: TierControl = {}, world: WorldOptions = {}): Promise<DeployedStack> {
    this.history.push(...this.moto.authorizations());
    this.host.reset();
    this.app.versions = {};
    this.stack = await deployStack(this.moto, this.host, this.tier, name);
    this.earlier = new Set();
    this.deployed = { name, control: this.moto.currentControl(), world };
    [this.world] = await Promise.all([createWorld(this.moto.endpoint, this.stack.admin, name, this.app, world), this.host.prewarm()]);
    await this.enforce(control);
    return this.stack;
  }

  /**
   * Starts a scenario on the stack `name`: isolated (see `isolate`) when it is the stack this file deployed last, else
   * deployed afresh (see `deploy`), with `control` either way. A file whose scenarios are grouped by stack deploys each
   * stack once.
   */
  async scenarioOn(name: TierStackName, control: TierControl = {}): Promise<DeployedStack> {
    if (this.deployed?.name === name) await this.isolate(control);
    else await this.deploy(name, control);
    return this.stack;
  }

  /**
   * Starts a scenario on the stack the last `deploy` deployed, without deploying it again: once no execution of its
   * state machine runs any more (one an alarm rule started in the previous scenario), the runbook's bucket is emptied
   * (every version of the ledger, the lock, the reports and the backups), the alarms are OK again, the notifications
   * read and forgotten, the ECS service back on its first task definition, RDS as the world created it (its instance
   * or cluster under its name and settings, no other one, no snapshot: `resetDatabase`), the lambda-alias stack's
   * function back on version 1 alone, the fake hosts back on their initial version; the app, the function host's
   * invocations and logs, and moto's logs start empty, the executions so far are the earlier scenarios' (never
   * `otherExecutions`), and moto's control is the deploy's again, with `control` on top (faults count afresh). What
   * stays: EC2 instances' states, task definitions registered, other executions' histories; a file whose scenarios
   * need those as new deploys per scenario.
   */
  async isolate(control: TierControl = {}): Promise<void> {
    if (!this.deployed) throw new Error('isolate: no stack was deployed yet');
    const { name, control: deployedControl, world } = this.deployed;
    const config = this.operator.config;
    await this.untilIdle();
    this.earlier = new Set(await this.executionArns());
    // The previous scenario's faults and ECS behaviour end before the calls below.
    this.scenario += 1;
    this.moto.control({ ...deployedControl, ...control, scenario: this.scenario });
    await emptyBucket(new S3Client(config), this.stack.bucketName);
    const cloudwatch = new CloudWatchClient(config);
    for (const alarm of ALARMS) await cloudwatch.send(new SetAlarmStateCommand({ AlarmName: alarm, StateValue: 'OK', StateReason: 'a new scenario' }));
    await this.world.clearNotifications();
    const ecs = new ECSClient(config);
    const service = (await ecs.send(new DescribeServicesCommand({ cluster: 'shop-prod', services: ['shop-api'] }))).services?.[0];
    if (service?.taskDefinition !== this.world.initialTaskDefinition) {
      await ecs.send(new UpdateServiceCommand({ cluster: 'shop-prod', service: 'shop-api', taskDefinition: this.world.initialTaskDefinition }));
      // A steady service, as the world started: the rollout (moto/launch.py, ecs.rolloutSeconds) completes first.
      for (let attempt = 0; ; attempt += 1) {
        const deployments = (await ecs.send(new DescribeServicesCommand({ cluster: 'shop-prod', services: ['shop-api'] }))).services?.[0]?.deployments ?? [];
        if (deployments.find((d) => d.status === 'PRIMARY')?.rolloutState === 'COMPLETED') break;
        if (attempt >= 200) throw new Error('isolate: the ECS service did not come back on its first task definition within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    await resetDatabase(this.moto.endpoint, this.stack.admin, name, world);
    if (TIER_STACKS[name].target.kind === 'lambda-alias') await resetAliasedFunction(this.moto.endpoint, this.stack.admin);
    this.app.forget();
    this.forgetLogs();
  }

  /**
   * Starts a scenario's logs empty and nothing else: moto's (authorisations, task output, host runs; the authorisations
   * still count in `allAuthorizations`) and the function host's invocations and log lines. For a file whose scenarios
   * build on what the previous ones left in the bucket (a drill's ledger), where `isolate` would empty it.
   */
  forgetLogs(): void {
    this.host.forget();
    this.history.push(...this.moto.authorizations());
    this.moto.clearAuthorizations();
  }

  /** Waits until no execution of the state machine runs. */
  private async untilIdle(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = await this.executionArns('RUNNING');
      if (running.length === 0) return;
      if (Date.now() > deadline) throw new Error(`isolate: executions still RUNNING after ${timeoutMs} ms: ${running.join(', ')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
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
    this.earlier = new Set();
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

  /**
   * The message of the first notification whose subject starts with `subject`, read from the topic's subscription
   * every 100 ms until `attempts` reads found none; then `missing` is thrown.
   */
  async notification(subject: string, missing: string, attempts = 200): Promise<string> {
    for (let attempt = 0; attempt < attempts; attempt += 1) {
      const found = (await this.world.notifications()).find((n) => n.subject?.startsWith(subject));
      if (found) return found.message;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(missing);
  }

  /** This scenario's executions of the state machine other than `known`, newest first: those a rule started. */
  async otherExecutions(known: readonly string[]): Promise<string[]> {
    return (await this.executionArns()).filter((arn) => !known.includes(arn) && !this.earlier.has(arn));
  }

  /** The state machine's executions (with `status` only those), newest first, every page of them. */
  private async executionArns(status?: ExecutionStatus): Promise<string[]> {
    const arns: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.operator.sfn.send(new ListExecutionsCommand({ stateMachineArn: this.stack.stateMachineArn, statusFilter: status, nextToken }));
      arns.push(...(page.executions ?? []).map((e) => e.executionArn ?? ''));
      nextToken = page.nextToken;
    } while (nextToken);
    return arns;
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
    await this.launching?.catch(() => undefined);
    if (!this.parts) return;
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

/** Every version of every object of a versioned bucket deleted: empty as the stack created it. */
async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const listed = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    const objects = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((v) => ({ Key: v.Key ?? '', VersionId: v.VersionId }));
    if (objects.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }));
  }
}

export interface EmulatedAwsFile {
  /** Names the functions' network resolves besides the app's, read when the file starts (e.g. a fake Prometheus started before). */
  readonly hosts?: () => Readonly<Record<string, string>>;
  /** See `EmulatedAws.start`. */
  readonly timeScale?: number;
  /**
   * Deploys this stack once, in the file's beforeAll, and starts each scenario with `isolate` instead of a new deploy.
   * Without it, each scenario deploys what it needs itself (`aws.deploy`).
   */
  readonly stack?: TierStackName;
  /** With `stack`: the control every scenario starts from (a scenario changes it with `aws.setControl`). */
  readonly control?: TierControl;
}

/**
 * The emulated-AWS tier for one test file: started once in beforeAll (moto, the function host, the fake app), stopped
 * in afterAll, and after each scenario the checks every scenario of the tier must pass: moto refused no call (each
 * was allowed by its principal's synthesized policy), and the smoke-test password never left Secrets Manager — in no
 * function's log line and no notification. With `stack`, the stack is deployed once for the file and each scenario
 * starts isolated (see `EmulatedAws.isolate`).
 */
export function useEmulatedAws(file: EmulatedAwsFile = {}): EmulatedAws {
  const aws = EmulatedAws.unstarted();
  // Each with its own time: on 2 loaded cores, synthesis and moto's start, then a deploy, take minutes each.
  beforeAll(() => aws.launch(file.hosts?.() ?? {}, file.timeScale), 300_000);
  if (file.stack) {
    const { stack, control } = file;
    beforeAll(() => aws.deploy(stack, control), 300_000);
    beforeEach(() => aws.isolate(control), 120_000);
  }
  afterAll(() => aws.stop());
  afterEach(async () => {
    expect(aws.denied()).toEqual([]);
    expect(aws.host.logsContaining(aws.app.password)).toEqual([]);
    if (aws.world) expect(JSON.stringify(await aws.world.notifications())).not.toContain(aws.app.password);
  });
  return aws;
}
