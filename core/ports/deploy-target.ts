import type { DeployedVersion, DeployHandle, DeployStatus, PreflightCheck } from '../model';

export interface DeployRequest {
  readonly version: string;
  readonly image: string | null;
  readonly deploymentId: string;
}

/** What gets deployed: an ECS service, a custom hook Lambda; locally a command or the demo app. */
export interface DeployTarget {
  /** The version running now, precise enough to redeploy it. */
  current(): Promise<DeployedVersion>;
  /** Exists, is stable, nothing else rolling out. */
  preflight(): Promise<PreflightCheck[]>;
  deploy(request: DeployRequest): Promise<DeployHandle>;
  /** Redeploys `to`; `from` is the deployment being undone, when there is one. */
  rollback(to: DeployedVersion, from: DeployHandle | null): Promise<DeployHandle>;
  /** `completed` or `in-progress`; throws DeploymentFailedError when the rollout failed. */
  status(handle: DeployHandle): Promise<DeployStatus>;
  /**
   * Targets that shift traffic in steps (lambda-alias): gives `release` this share of the traffic, the rest staying on
   * `from`; at 100 `release` takes it all. Returns what was set, in words, for the report.
   */
  shift?(release: DeployHandle, from: DeployedVersion, percent: number): Promise<string>;
}
