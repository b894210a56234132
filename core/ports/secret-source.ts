import type { SecretRef } from '../../config/schema';

/** Resolves a secret reference (Secrets Manager, or an environment variable). */
export interface SecretSource {
  resolve(ref: SecretRef): Promise<string>;
}
