import {
  type AliasConfiguration,
  type FunctionConfiguration,
  GetAliasCommand,
  GetFunctionConfigurationCommand,
  type LambdaClient,
  PublishVersionCommand,
  UpdateAliasCommand,
  UpdateFunctionCodeCommand,
} from '@aws-sdk/client-lambda';
import type { TargetConfig } from '../../config/schema';
import { type Clock, systemClock } from '../../core/ports/clock';
import type { DeployRequest, DeployTarget } from '../../core/ports/deploy-target';
import { DeploymentFailedError, PreflightFailedError } from '../../core/errors';
import type { DeployedVersion, DeployHandle, DeployStatus, PreflightCheck } from '../../core/model';

/**
 * The IAM action behind each AWS call LambdaAliasDeployTarget makes, implicit ones included: granted from here by
 * lib/task-permissions.ts on the configured function, its versions and its alias only.
 */
export const LAMBDA_ALIAS_IAM = {
  getAlias: 'lambda:GetAlias',
  getFunctionConfiguration: 'lambda:GetFunctionConfiguration',
  updateFunctionCode: 'lambda:UpdateFunctionCode',
  publishVersion: 'lambda:PublishVersion',
  updateAlias: 'lambda:UpdateAlias',
  /** UpdateFunctionCode from S3: Lambda reads the package with the caller's permissions. */
  readCode: 's3:GetObject',
  /** UpdateFunctionCode with an image: Lambda pulls it with the caller's permissions. */
  pullImage: 'ecr:BatchGetImage',
  pullImageLayers: 'ecr:GetDownloadUrlForLayer',
} as const;

export type LambdaAliasTargetConfig = Extract<TargetConfig, { kind: 'lambda-alias' }>;

/** The description of the versions the runbook publishes: it names the release, so that `current` can say which runs. */
const DESCRIPTION = /^deploy-runbook (\S+) \S+$/;

/** `s3://bucket/key` → its parts; null for anything else. */
export function s3Location(image: string): { bucket: string; key: string } | null {
  const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/.exec(image);
  return match ? { bucket: match[1], key: match[2] } : null;
}

/** How long Deploy waits for UpdateFunctionCode to settle before it publishes (inside the Task's 300 s timeout). */
const SETTLE_ATTEMPTS = 60;

export interface LambdaAliasOptions {
  readonly clock?: Clock;
  /** Pause between two reads of the function while its code update is in progress. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly settleIntervalMs?: number;
}

/**
 * Deploys a Lambda function behind an alias (`target.kind: "lambda-alias"`): Deploy updates the function's code
 * (`image`: `s3://<codeBucket>/<key>` or an image of `imageRepository`) and publishes a version; the alias moves to
 * it in the configured traffic steps (the alias's RoutingConfig weights the new version, the rest stays on the
 * version it pointed to), and a rollback points the alias back at the previous version alone.
 */
export class LambdaAliasDeployTarget implements DeployTarget {
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly settleIntervalMs: number;

  constructor(
    private readonly lambda: LambdaClient,
    private readonly target: LambdaAliasTargetConfig,
    options: LambdaAliasOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.settleIntervalMs = options.settleIntervalMs ?? 2000;
  }

  async current(): Promise<DeployedVersion> {
    const alias = await this.alias(PreflightFailedError);
    const version = alias.FunctionVersion ?? '';
    const configuration = await this.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: this.target.functionName, Qualifier: version }));
    return { version: DESCRIPTION.exec(configuration.Description ?? '')?.[1] ?? null, image: null, ref: version };
  }

  async preflight(): Promise<PreflightCheck[]> {
    let alias: AliasConfiguration;
    try {
      alias = await this.alias(PreflightFailedError);
    } catch (error) {
      if (error instanceof PreflightFailedError) return [{ name: 'lambda alias', ok: false, detail: error.message }];
      throw error;
    }
    const weights = Object.entries(alias.RoutingConfig?.AdditionalVersionWeights ?? {});
    const latest = await this.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: this.target.functionName }));
    const packaged = this.target.codeBucket === undefined ? 'Image' : 'Zip';
    const settled = latest.State === 'Active' && (latest.LastUpdateStatus ?? 'Successful') === 'Successful';
    return [
      { name: 'lambda alias', ok: true, detail: `${this.where()} points to version ${alias.FunctionVersion}` },
      {
        name: 'no traffic shift in progress',
        ok: weights.length === 0,
        detail: weights.length === 0 ? 'all traffic on one version' : `the alias also routes ${weights.map(([v, w]) => `${percentOf(w)} % to version ${v}`).join(', ')}`,
      },
      {
        name: 'function settled',
        ok: settled,
        detail: `state ${latest.State ?? 'unknown'}, last update ${latest.LastUpdateStatus ?? 'unknown'}${latest.LastUpdateStatusReason ? `: ${latest.LastUpdateStatusReason}` : ''}`,
      },
      {
        name: 'package type',
        ok: (latest.PackageType ?? 'Zip') === packaged,
        detail: `${latest.PackageType ?? 'Zip'} function; the configuration deploys ${packaged === 'Zip' ? `zip packages from s3://${this.target.codeBucket}` : `images of ${this.target.imageRepository}`}`,
      },
    ];
  }

  async deploy({ version, image, deploymentId }: DeployRequest): Promise<DeployHandle> {
    const FunctionName = this.target.functionName;
    const code = this.code(version, image);
    await this.lambda.send(new UpdateFunctionCodeCommand({ FunctionName, ...code }));
    const updated = await this.settled();
    // The description names the release; a retried Deploy publishes nothing new (same code) and gets the same version back.
    const published = await this.lambda.send(
      new PublishVersionCommand({ FunctionName, CodeSha256: updated.CodeSha256, Description: `deploy-runbook ${version} ${deploymentId}` }),
    );
    if (!published.Version) throw new DeploymentFailedError(`PublishVersion of ${FunctionName} returned no version`);
    return this.handle(published.Version, version, image, published.FunctionArn ?? null);
  }

  async status(handle: DeployHandle): Promise<DeployStatus> {
    const configuration = await this.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: this.target.functionName, Qualifier: handle.ref }));
    const state = configuration.State ?? 'Active';
    const detail = `version ${handle.ref} is ${state}`;
    if (state === 'Failed' || state === 'Inactive') {
      throw new DeploymentFailedError(`${detail}: ${configuration.StateReason ?? 'Lambda gave no reason'}`);
    }
    return { status: state === 'Active' ? 'completed' : 'in-progress', detail, checkedAt: this.clock.now().toISOString() };
  }

  async shift(release: DeployHandle, from: DeployedVersion, percent: number): Promise<string> {
    const all = percent >= 100;
    await this.lambda.send(
      new UpdateAliasCommand({
        FunctionName: this.target.functionName,
        Name: this.target.alias,
        FunctionVersion: all ? release.ref : from.ref,
        RoutingConfig: { AdditionalVersionWeights: all ? {} : { [release.ref]: percent / 100 } },
      }),
    );
    return all ? `${this.where()}: 100 % to version ${release.ref}` : `${this.where()}: ${percent} % to version ${release.ref}, ${100 - percent} % to version ${from.ref}`;
  }

  async rollback(to: DeployedVersion): Promise<DeployHandle> {
    // The version comes from the ledger after an alarm: only a published version number of this function is accepted.
    if (!/^\d{1,10}$/.test(to.ref)) {
      throw new DeploymentFailedError(`rollbackTo.ref: ${JSON.stringify(to.ref)} is not a published version number of ${this.target.functionName}: refusing to point the alias at it`);
    }
    await this.lambda.send(
      new UpdateAliasCommand({ FunctionName: this.target.functionName, Name: this.target.alias, FunctionVersion: to.ref, RoutingConfig: { AdditionalVersionWeights: {} } }),
    );
    return this.handle(to.ref, to.version, to.image, null);
  }

  private where(): string {
    return `alias ${this.target.alias} of ${this.target.functionName}`;
  }

  private async alias(failure: new (message: string) => Error): Promise<AliasConfiguration> {
    try {
      return await this.lambda.send(new GetAliasCommand({ FunctionName: this.target.functionName, Name: this.target.alias }));
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') {
        throw new failure(`target.alias: ${this.where()} does not exist (create it pointing to the running version first): ${(error as Error).message}`);
      }
      throw error;
    }
  }

  private code(version: string, image: string | null): { S3Bucket: string; S3Key: string } | { ImageUri: string } {
    if (image === null) throw new DeploymentFailedError(`image: a lambda-alias target needs the code to deploy version ${version} (got null)`);
    if (this.target.codeBucket === undefined) return { ImageUri: image };
    const location = s3Location(image);
    if (location?.bucket !== this.target.codeBucket) {
      throw new DeploymentFailedError(`image: must be an object of s3://${this.target.codeBucket}/ (target.codeBucket) (got "${image}")`);
    }
    return { S3Bucket: location.bucket, S3Key: location.key };
  }

  /** Waits until the code update is no longer in progress; a failed update fails the deploy. */
  private async settled(): Promise<FunctionConfiguration> {
    for (let attempt = 1; ; attempt += 1) {
      const configuration = await this.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: this.target.functionName }));
      const status = configuration.LastUpdateStatus ?? 'Successful';
      if (status === 'Successful') return configuration;
      if (status === 'Failed') throw new DeploymentFailedError(`the code update of ${this.target.functionName} failed: ${configuration.LastUpdateStatusReason ?? 'Lambda gave no reason'}`);
      if (attempt >= SETTLE_ATTEMPTS) throw new DeploymentFailedError(`the code update of ${this.target.functionName} was still ${status} after ${attempt} checks`);
      await this.sleep(this.settleIntervalMs);
    }
  }

  private handle(ref: string, version: string | null, image: string | null, deploymentId: string | null): DeployHandle {
    return { kind: 'lambda-alias', ref, version, image, deploymentId, startedAt: this.clock.now().toISOString() };
  }
}

function percentOf(weight: number): number {
  return Math.round(weight * 1000) / 10;
}
