import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecretsManagerSource } from '../../../adapters/aws/secrets-manager-source';
import { SecretUnavailableError } from '../../../core/errors';

const client = new SecretsManagerClient({ region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
const secretsManager = mockClient(client);
const CONTENT = 'hunter2-correct-horse';

beforeEach(() => {
  secretsManager.reset();
});

describe('SecretsManagerSource', () => {
  it('reads a plain secret by name with GetSecretValue', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: CONTENT });

    await expect(new SecretsManagerSource(client).resolve({ secretsManager: 'shop/prod/smoke-token' })).resolves.toBe(CONTENT);

    expect(secretsManager).toHaveReceivedCommandExactlyOnceWith(GetSecretValueCommand, { SecretId: 'shop/prod/smoke-token' });
  });

  it('passes an ARN through as the SecretId', async () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/prod/smoke-user-AbCdEf';
    secretsManager.on(GetSecretValueCommand, { SecretId: arn }).resolves({ SecretString: CONTENT });

    await expect(new SecretsManagerSource(client).resolve({ secretsManager: arn })).resolves.toBe(CONTENT);

    expect(secretsManager).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: arn });
  });

  it('takes jsonKey out of a JSON secret, reading the secret once for several keys', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ username: 'smoke', password: CONTENT, pin: 4711 }) });
    const source = new SecretsManagerSource(client);

    const values = await Promise.all([
      source.resolve({ secretsManager: 'shop/prod/smoke-user', jsonKey: 'password' }),
      source.resolve({ secretsManager: 'shop/prod/smoke-user', jsonKey: 'username' }),
      source.resolve({ secretsManager: 'shop/prod/smoke-user', jsonKey: 'pin' }),
    ]);

    expect(values).toEqual([CONTENT, 'smoke', '4711']);
    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
  });

  it('reads each secret id separately', async () => {
    secretsManager.on(GetSecretValueCommand, { SecretId: 'a' }).resolves({ SecretString: 'value-a' });
    secretsManager.on(GetSecretValueCommand, { SecretId: 'b' }).resolves({ SecretString: 'value-b' });
    const source = new SecretsManagerSource(client);

    expect(await source.resolve({ secretsManager: 'a' })).toBe('value-a');
    expect(await source.resolve({ secretsManager: 'b' })).toBe('value-b');
    expect(secretsManager.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId)).toEqual(['a', 'b']);
  });

  it('refuses {env} references without calling AWS: on AWS the environment holds the function’s own credentials', async () => {
    await expect(new SecretsManagerSource(client).resolve({ env: 'AWS_SECRET_ACCESS_KEY' })).rejects.toThrow(
      new SecretUnavailableError(
        'env secrets are read only in a local rehearsal (deploy-runbook rehearse); on AWS name the secret with Secrets Manager, {"secretsManager": "name or ARN", "jsonKey"?} (got {"env":"AWS_SECRET_ACCESS_KEY"})',
      ),
    );
    expect(secretsManager).not.toHaveReceivedAnyCommand();
  });

  it('fails when the secret does not exist, naming the secret id', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));

    const error = await new SecretsManagerSource(client).resolve({ secretsManager: 'shop/prod/missing' }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error as Error).name).toBe('SecretUnavailableError');
    expect((error as Error).message).toBe("Secrets Manager secret 'shop/prod/missing' does not exist");
  });

  it('fails when access is denied, keeping the AWS explanation', async () => {
    const denied = Object.assign(new Error('User: arn:aws:sts::123456789012:assumed-role/smoke/fn is not authorized to perform: secretsmanager:GetSecretValue'), {
      name: 'AccessDeniedException',
    });
    secretsManager.on(GetSecretValueCommand).rejects(denied);

    await expect(new SecretsManagerSource(client).resolve({ secretsManager: 'shop/prod/smoke-user' })).rejects.toThrow(
      "Secrets Manager secret 'shop/prod/smoke-user' cannot be read: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/smoke/fn is not authorized to perform: secretsmanager:GetSecretValue",
    );
  });

  it('reads again after a failed read instead of caching the failure', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
      .resolves({ SecretString: CONTENT });
    const source = new SecretsManagerSource(client);

    await expect(source.resolve({ secretsManager: 'shop/prod/smoke-token' })).rejects.toThrow(SecretUnavailableError);
    await expect(source.resolve({ secretsManager: 'shop/prod/smoke-token' })).resolves.toBe(CONTENT);
    expect(secretsManager).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
  });

  it.each([
    ['the secret is not JSON', CONTENT, 'password', "Secrets Manager secret 'shop/prod/smoke-user' is not JSON, so jsonKey 'password' cannot be read"],
    ['the key is missing', JSON.stringify({ username: CONTENT }), 'password', "Secrets Manager secret 'shop/prod/smoke-user' has no key 'password'"],
    ['the JSON is an array', JSON.stringify([CONTENT]), 'password', "Secrets Manager secret 'shop/prod/smoke-user' has no key 'password'"],
    ['the key holds an object', JSON.stringify({ password: { value: CONTENT } }), 'password', "key 'password' of Secrets Manager secret 'shop/prod/smoke-user' is not a string (object)"],
    ['the key holds null', JSON.stringify({ password: null }), 'password', "key 'password' of Secrets Manager secret 'shop/prod/smoke-user' is not a string (null)"],
    ['the key is empty', JSON.stringify({ password: '' }), 'password', "key 'password' of Secrets Manager secret 'shop/prod/smoke-user' is empty"],
  ])('fails when %s, without quoting the content', async (_case, secretString, jsonKey, message) => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: secretString });

    const error = (await new SecretsManagerSource(client).resolve({ secretsManager: 'shop/prod/smoke-user', jsonKey }).catch((e: unknown) => e)) as Error;

    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(error.message).toBe(message);
    expect(JSON.stringify({ message: error.message, stack: error.stack })).not.toContain(CONTENT);
  });

  it('fails when the secret is binary', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretBinary: new Uint8Array([1, 2, 3]) });

    await expect(new SecretsManagerSource(client).resolve({ secretsManager: 'shop/prod/cert' })).rejects.toThrow(
      "Secrets Manager secret 'shop/prod/cert' has no SecretString (binary secrets are not supported)",
    );
  });

  it('fails when the secret is empty', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: '' });

    await expect(new SecretsManagerSource(client).resolve({ secretsManager: 'shop/prod/smoke-token' })).rejects.toThrow(
      "Secrets Manager secret 'shop/prod/smoke-token' is empty",
    );
  });
});
