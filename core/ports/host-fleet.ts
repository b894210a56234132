/** One step a batch of hosts goes through: the deploy (or rollback) command, then the ready check. */
export type HostStep = 'apply' | 'ready';

/** Names one step of one batch of one rollout: a fleet finds what it started under this key again. */
export interface HostRunKey {
  /** The rollout: the same for every call about one deploy (or one rollback), a retried call included. */
  readonly operation: string;
  readonly step: HostStep;
  /** From 1. */
  readonly batch: number;
}

/** What a step does on a host. `version` and `image` were checked against strict patterns before they got here. */
export type HostAction =
  | { readonly kind: 'deploy' | 'rollback'; readonly version: string; readonly image: string | null }
  | { readonly kind: 'ready'; readonly version: string };

/** A step's result on one host. `detail` is an excerpt of its output or of why it failed, bounded and masked by the caller. */
export interface HostResult {
  readonly host: string;
  readonly state: 'pending' | 'succeeded' | 'failed';
  readonly detail: string;
}

/** The version one host runs now; null when it could not be read (detail says why). */
export interface HostVersion {
  readonly host: string;
  readonly version: string | null;
  readonly detail: string;
}

/**
 * The hosts a hosts target deploys to, and how a command reaches each: SSM Run Command on AWS, local processes
 * in a rehearsal. The batching, the checks between batches and the rollback are core/hosts/rolling-hosts.ts's.
 */
export interface HostFleet {
  /** Says which hosts the fleet selects, for messages: `instances tagged app=shop-api`. */
  readonly description: string;
  /** Whether a ready check runs on each batch after its command succeeded. */
  readonly checksReadiness: boolean;
  /** The hosts selected now, in a stable order. */
  hosts(): Promise<string[]>;
  /** Reads the running version on each host (waits for the answers). */
  versions(hosts: readonly string[]): Promise<HostVersion[]>;
  /** Starts `action` on `hosts` under `key`. Idempotent: a key already started is not started again. */
  start(key: HostRunKey, hosts: readonly string[], action: HostAction): Promise<void>;
  /** The results of what `key` started, one per host of `hosts`; null when nothing was started under it. */
  results(key: HostRunKey, hosts: readonly string[]): Promise<HostResult[] | null>;
}
