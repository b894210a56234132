import { describe, expect, it } from 'vitest';
import { placeProblems } from '../../config/kinds';
import { assertDeployableToAws, parseConfig } from '../../config/load';
import rehearsal from '../../examples/rehearsal/runbook.json';
import { exampleWith, problemsOf } from './fixtures';

const NETWORK = { vpcId: 'vpc-0a1b2c3d4e5f67890', subnetIds: ['subnet-0a1b2c3d4e5f67890', 'subnet-1a2b3c4d'], securityGroupIds: ['sg-0a1b2c3d4e5f67890'] };
const POSTGRES_ON_AWS = { kind: 'postgres', connection: { secretsManager: 'shop/prod/db' }, restoreApproval: { required: false } };

describe('network', () => {
  it('is optional and, when given, kept as written', () => {
    expect(parseConfig(exampleWith(() => {})).network).toBeUndefined();
    expect(parseConfig(exampleWith((c) => (c.network = NETWORK))).network).toEqual(NETWORK);
  });

  it.each([
    ['vpcId', (c: Record<string, any>) => (c.network.vpcId = 'vpc-XYZ'), 'network.vpcId: must be an id such as vpc-0a1b2c3d4e5f67890 (got "vpc-XYZ")'],
    ['a subnet', (c: Record<string, any>) => (c.network.subnetIds[1] = 'sg-0a1b2c3d'), 'network.subnetIds[1]: must be an id such as subnet-0a1b2c3d4e5f67890 (got "sg-0a1b2c3d")'],
    ['a security group', (c: Record<string, any>) => (c.network.securityGroupIds = ['sg-123']), 'network.securityGroupIds[0]: must be an id such as sg-0a1b2c3d4e5f67890 (got "sg-123")'],
    ['no subnet', (c: Record<string, any>) => (c.network.subnetIds = []), 'network.subnetIds: Too small: expected array to have >=1 items (got [])'],
    ['no security group', (c: Record<string, any>) => (c.network.securityGroupIds = []), 'network.securityGroupIds: Too small: expected array to have >=1 items (got [])'],
    ['a repeated subnet', (c: Record<string, any>) => (c.network.subnetIds = ['subnet-1a2b3c4d', 'subnet-1a2b3c4d']), 'network.subnetIds[1]: repeats subnet-1a2b3c4d (got "subnet-1a2b3c4d")'],
  ])('refuses %s, naming the field and the value', (_what, edit, problem) => {
    const draft = exampleWith((c) => {
      c.network = structuredClone(NETWORK);
      edit(c);
    });
    expect(problemsOf(draft)).toEqual([problem]);
  });
});

describe('database.connection', () => {
  it('defaults to verifying the server certificate and leaves host, port and database to the secret', () => {
    const config = parseConfig(exampleWith((c) => (c.database.connection = { secretsManager: 'shop/prod/db' })));
    expect(config.database?.connection).toEqual({ secretsManager: 'shop/prod/db', sslmode: 'verify-full' });
  });

  it('is accepted on every database kind', () => {
    for (const database of [
      { kind: 'rds-instance', instanceIdentifier: 'shop-prod-db' },
      { kind: 'aurora-cluster', clusterIdentifier: 'shop-prod' },
      { kind: 'postgres' },
    ]) {
      const config = parseConfig(exampleWith((c) => (c.database = { ...database, connection: { secretsManager: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf', sslmode: 'require' } })));
      expect(config.database?.connection?.sslmode).toBe('require');
    }
  });

  it('refuses an unknown sslmode and a port out of range, naming the field and the value', () => {
    const draft = exampleWith((c) => (c.database.connection = { secretsManager: 'shop/prod/db', sslmode: 'prefer', port: 70000 }));
    expect(problemsOf(draft)).toEqual([
      'database.connection.port: Too big: expected number to be <=65535 (got 70000)',
      'database.connection.sslmode: Invalid option: expected one of "verify-full"|"require"|"disable" (got "prefer")',
    ]);
  });
});

describe('database.kind postgres', () => {
  it('runs on AWS when it has a connection and a network (its backup task runs in the subnets)', () => {
    const config = parseConfig(exampleWith((c) => ((c.database = POSTGRES_ON_AWS), (c.network = NETWORK))));
    expect(() => assertDeployableToAws(config)).not.toThrow();
  });

  it('is refused on AWS without a network, saying what to set', () => {
    const config = parseConfig(exampleWith((c) => (c.database = POSTGRES_ON_AWS)));
    expect(placeProblems(config, 'aws')).toEqual([
      `network: 'postgres' on AWS is backed up by an ECS Fargate task, which runs in subnets that reach the database; set network to {"vpcId", "subnetIds", "securityGroupIds"} (got nothing)`,
    ]);
  });

  it('is refused on AWS without a connection, saying what to set', () => {
    const config = parseConfig(exampleWith((c) => ((c.database = { ...POSTGRES_ON_AWS, connection: undefined }), (c.network = NETWORK))));
    expect(placeProblems(config, 'aws')).toEqual([
      `database.connection: 'postgres' on AWS reaches the database through a Secrets Manager secret holding {host, port, username, password, dbname} (the RDS secret format); set database.connection to {"secretsManager": "name or ARN"} (got nothing)`,
    ]);
  });

  it('keeps running in a rehearsal from urlEnv, with or without a connection', () => {
    const withConnection = { ...structuredClone(rehearsal), database: { ...rehearsal.database, connection: { secretsManager: 'shop/prod/db' } } };
    expect(placeProblems(parseConfig(withConnection), 'local')).toEqual([]);
    expect(parseConfig(withConnection).database).toMatchObject({ kind: 'postgres', urlEnv: rehearsal.database.urlEnv ?? 'DATABASE_URL' });
  });
});

describe('database.logicalBackup (RDS and Aurora)', () => {
  const CONNECTION = { secretsManager: 'shop/prod/db' };

  it('is off unless asked for: an RDS configuration without it parses as before', () => {
    const database = parseConfig(exampleWith(() => {})).database;
    expect(database).not.toHaveProperty('logicalBackup');
    expect(database).not.toHaveProperty('backupTask');
  });

  it('runs on AWS with a connection and a network, the task settings defaulted by the stack or given', () => {
    const config = parseConfig(exampleWith((c) => ((c.database.logicalBackup = true), (c.database.connection = CONNECTION), (c.database.backupTask = { postgresImage: 'public.ecr.aws/docker/library/postgres:16' }), (c.network = NETWORK))));
    expect(() => assertDeployableToAws(config)).not.toThrow();
    expect(config.database).toMatchObject({ kind: 'rds-instance', logicalBackup: true, backupTask: { postgresImage: 'public.ecr.aws/docker/library/postgres:16', nodeImage: 'public.ecr.aws/lambda/nodejs:22', cpu: 1024, memoryMiB: 2048 } });
  });

  it('fails when an Aurora cluster asks for it without a connection or a network, naming both fields', () => {
    const config = parseConfig(exampleWith((c) => (c.database = { kind: 'aurora-cluster', clusterIdentifier: 'shop-prod', logicalBackup: true, restoreApproval: { required: false } })));
    expect(placeProblems(config, 'aws')).toEqual([
      `database.connection: database.logicalBackup: true dumps an Aurora cluster with pg_dump, which connects through a Secrets Manager secret holding {host, port, username, password, dbname}; set database.connection to {"secretsManager": "name or ARN"} (got nothing)`,
      `network: database.logicalBackup: true runs pg_dump in an ECS Fargate task, in subnets that reach the database; set network to {"vpcId", "subnetIds", "securityGroupIds"} (got nothing)`,
    ]);
    expect(() => assertDeployableToAws(config)).toThrow(/database\.connection: database\.logicalBackup: true/);
  });

  it('fails when backupTask is given without logicalBackup, naming both values', () => {
    const config = parseConfig(exampleWith((c) => ((c.database.backupTask = { cpu: 2048 }), (c.database.logicalBackup = false))));
    expect(placeProblems(config, 'aws')).toEqual([
      'database.backupTask: only used with database.logicalBackup: true, which is false; remove it or set logicalBackup to true (got {"postgresImage":"public.ecr.aws/docker/library/postgres:17","nodeImage":"public.ecr.aws/lambda/nodejs:22","cpu":2048,"memoryMiB":2048})',
    ]);
  });

  it('fails when it is not a boolean, naming the field and the value', () => {
    expect(problemsOf(exampleWith((c) => (c.database.logicalBackup = 'yes')))).toEqual(['database.logicalBackup: Invalid input: expected boolean, received string (got "yes")']);
  });
});

describe('checks.sql', () => {
  const CHECK = { name: 'backfill complete', sql: 'SELECT count(*) FROM messages WHERE replied_to IS NULL', expect: { equals: 0 }, when: ['after-migrations'] };

  it('defaults to no checks with a 30 s statement timeout, and keeps a check as written', () => {
    expect(parseConfig(exampleWith(() => {})).checks).toEqual({ sql: [], statementTimeoutSeconds: 30 });
    expect(parseConfig(exampleWith((c) => (c.checks = { sql: [CHECK] }))).checks.sql).toEqual([CHECK]);
  });

  it('refuses duplicate names, an unknown phase and an expectation that is not one of equals, atLeast, atMost, exists', () => {
    const draft = exampleWith((c) => (c.checks = { sql: [CHECK, { ...CHECK, when: ['after-deploy'] }, { ...CHECK, name: 'other', expect: { between: [1, 2] } }] }));
    const problems = problemsOf(draft);
    expect(problems).toContain(`checks.sql[1].when[0]: Invalid option: expected one of "preflight"|"after-migrations"|"after-restore" (got "after-deploy")`);
    expect(problems).toContain('checks.sql[2].expect.between: unknown field (got [1,2])');
    expect(problemsOf(exampleWith((c) => (c.checks = { sql: [CHECK, CHECK] })))).toEqual([`checks.sql[1].name: duplicate SQL check name 'backfill complete' (got "backfill complete")`]);
  });

  it('needs a database, and on AWS its connection', () => {
    expect(problemsOf(exampleWith((c) => ((c.database = null), (c.checks = { sql: [CHECK] }))))).toEqual([
      'checks.sql: SQL checks run against the database, but database is not configured (got [{"name":"backfill complete","sql":"SELECT count(*) FROM messages WHERE repli...)',
    ]);
    const config = parseConfig(exampleWith((c) => (c.checks = { sql: [CHECK] })));
    expect(placeProblems(config, 'aws')).toEqual([
      'database.connection: the SQL checks (checks.sql) connect to the database, on AWS through a Secrets Manager secret holding {host, port, username, password, dbname}; set database.connection to {"secretsManager": "name or ARN"} (got nothing)',
    ]);
  });
});
