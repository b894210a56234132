import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { secretSourceProblem } from '../../config/kinds';
import type { SecretRef } from '../../config/schema';
import type { SecretSource } from '../../core/ports/secret-source';
import { SecretUnavailableError } from '../../core/errors';

/**
 * The IAM action behind each AWS call SecretsManagerSource makes, implicit ones included: written beside
 * the calls, granted from here by lib/task-permissions.ts (test/adapters/aws/iam-beside-commands.test.ts checks both ends).
 */
export const SECRETS_MANAGER_IAM = {
  getSecretValue: 'secretsmanager:GetSecretValue',
} as const;

/**
 * Secrets Manager on AWS (`secretsmanager:GetSecretValue`). An `{env}` reference is refused: a function's
 * environment holds its own AWS credentials, which no configuration may send to a smoke-tested app. Each secret is read once per instance: build one per invocation so that a rotated secret is picked up.
 * Error messages name the secret and the key, never the secret's content.
 */
export class SecretsManagerSource implements SecretSource {
  private readonly reads = new Map<string, Promise<string>>();

  constructor(private readonly client: SecretsManagerClient) {}

  async resolve(ref: SecretRef): Promise<string> {
    if ('env' in ref) throw new SecretUnavailableError(secretSourceProblem(ref, 'aws') ?? `environment secret ${ref.env} cannot be read here`);
    const text = await this.secretString(ref.secretsManager);
    if (ref.jsonKey === undefined) return text;
    return valueAtKey(text, ref.secretsManager, ref.jsonKey);
  }

  private secretString(secretId: string): Promise<string> {
    let read = this.reads.get(secretId);
    if (!read) {
      read = this.fetch(secretId);
      // Keep only successes: a failed read may be retried by a later call.
      read.catch(() => this.reads.delete(secretId));
      this.reads.set(secretId, read);
    }
    return read;
  }

  private async fetch(secretId: string): Promise<string> {
    let text: string | undefined;
    try {
      ({ SecretString: text } = await this.client.send(new GetSecretValueCommand({ SecretId: secretId })));
    } catch (error) {
      // AWS error messages name principals and resources, never secret content, and say what to fix.
      const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
      const detail = name === 'ResourceNotFoundException' ? 'does not exist' : `cannot be read: ${name}: ${message}`;
      throw new SecretUnavailableError(`Secrets Manager secret '${secretId}' ${detail}`, { cause: error });
    }
    if (text === undefined) throw new SecretUnavailableError(`Secrets Manager secret '${secretId}' has no SecretString (binary secrets are not supported)`);
    if (text === '') throw new SecretUnavailableError(`Secrets Manager secret '${secretId}' is empty`);
    return text;
  }
}

function valueAtKey(text: string, secretId: string, key: string): string {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new SecretUnavailableError(`Secrets Manager secret '${secretId}' is not JSON, so jsonKey '${key}' cannot be read`);
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document) || !Object.hasOwn(document, key)) {
    throw new SecretUnavailableError(`Secrets Manager secret '${secretId}' has no key '${key}'`);
  }
  const value = (document as Record<string, unknown>)[key];
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string' || value === '') {
    throw new SecretUnavailableError(`key '${key}' of Secrets Manager secret '${secretId}' is ${value === '' ? 'empty' : `not a string (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`}`);
  }
  return value;
}
