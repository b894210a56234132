/**
 * Errors the state machine routes on. Step Functions matches a Lambda error by its `errorType`,
 * which the Node.js runtime takes from `error.name`: the names below appear in the ASL's Retry/Catch.
 */
export abstract class RunbookError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The execution input or the configuration it carries is invalid; nothing was touched. */
export class InvalidInputError extends RunbookError {}

/** Another execution holds a live lease on the target. */
export class DeploymentInProgressError extends RunbookError {}

/** Our lease was released or taken by someone else (S3 answered 412/409 to our conditional write). */
export class LockLostError extends RunbookError {}

/** A pre-flight check failed: the target or the database is not in a state to deploy. */
export class PreflightFailedError extends RunbookError {}

/** The database snapshot ended in a failed state or does not meet the checks. */
export class SnapshotFailedError extends RunbookError {}

/** The rollout failed (ECS circuit breaker, failed rollout state, hook reported failure). */
export class DeploymentFailedError extends RunbookError {}

/** The migrations task exited non-zero or could not run. */
export class MigrationFailedError extends RunbookError {}

/** A metric's query failed: the provider refused it (a bad PromQL, an unknown log group) or could not be reached. */
export class MetricQueryError extends RunbookError {}

/** Alarm states could not be read; the bake fails closed on this after retries. */
export class AlarmStateUnavailableError extends RunbookError {}

/** The database restore cannot proceed (snapshot missing, instance in a wrong state, quota). */
export class RestoreFailedError extends RunbookError {}

/** A secret the smoke tests use cannot be read (missing, not permitted, wrong JSON key); the message names it, never its value. */
export class SecretUnavailableError extends RunbookError {}

/** A conditional write in the artifact store did not match (HTTP 412 or 409). */
export class PreconditionFailedError extends RunbookError {
  constructor(
    readonly key: string,
    readonly status: 409 | 412,
  ) {
    super(`conditional write to ${key} did not match (HTTP ${status})`);
  }
}

/** An object the runbook expected in its artifact store (a dump, a manifest) does not exist. */
export class ArtifactNotFoundError extends RunbookError {}

/** A required environment variable is missing. */
export class MissingEnvironmentError extends RunbookError {}

/** Reads a required environment variable, naming it when it is missing. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingEnvironmentError(`environment variable ${name} is not set`);
  return value;
}
