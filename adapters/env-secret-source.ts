import { secretSourceProblem } from '../config/kinds';
import type { SecretRef } from '../config/schema';
import type { SecretSource } from '../core/ports/secret-source';
import { SecretUnavailableError } from '../core/errors';

/** Reads an `{env: NAME}` secret; an unset or empty variable is an error naming the variable. */
export function readEnvSecret(name: string, env: NodeJS.ProcessEnv): string {
  const value = env[name];
  if (value === undefined || value === '') throw new SecretUnavailableError(`environment variable ${name} is not set`);
  return value;
}

/**
 * The rehearsal's secret source: environment variables only. A Secrets Manager reference is refused
 * rather than silently reaching AWS from a laptop.
 */
export class EnvSecretSource implements SecretSource {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async resolve(ref: SecretRef): Promise<string> {
    if ('env' in ref) return readEnvSecret(ref.env, this.env);
    throw new SecretUnavailableError(secretSourceProblem(ref, 'local') ?? `secret '${ref.secretsManager}' cannot be read here`);
  }
}
