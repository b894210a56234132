import { describe, expect, it } from 'vitest';
import { EnvSecretSource } from '../../adapters/env-secret-source';
import { SecretUnavailableError } from '../../core/errors';

describe('EnvSecretSource', () => {
  it('resolves an {env} reference from the given environment', async () => {
    await expect(new EnvSecretSource({ SMOKE_PASSWORD: 'Test123!@#' }).resolve({ env: 'SMOKE_PASSWORD' })).resolves.toBe('Test123!@#');
  });

  it('reads process.env by default', async () => {
    process.env.DEPLOY_RUNBOOK_TEST_SECRET = 'from-process-env';
    try {
      await expect(new EnvSecretSource().resolve({ env: 'DEPLOY_RUNBOOK_TEST_SECRET' })).resolves.toBe('from-process-env');
    } finally {
      delete process.env.DEPLOY_RUNBOOK_TEST_SECRET;
    }
  });

  it.each([
    ['is not set', {}],
    ['is empty', { SMOKE_PASSWORD: '' }],
  ])('fails when the variable %s, naming it', async (_case, env) => {
    await expect(new EnvSecretSource(env).resolve({ env: 'SMOKE_PASSWORD' })).rejects.toThrow(
      new SecretUnavailableError('environment variable SMOKE_PASSWORD is not set'),
    );
  });

  it('fails when the reference needs Secrets Manager, pointing at the rehearsal fix', async () => {
    const error = await new EnvSecretSource({}).resolve({ secretsManager: 'shop/prod/smoke-user', jsonKey: 'password' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).message).toBe('secretsManager secrets are read only on AWS; in a local rehearsal (deploy-runbook rehearse) name the secret with the environment, {"env": "NAME"} (got {"secretsManager":"shop/prod/smoke-user","jsonKey":"password"})');
  });
});
