import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeValue } from '../../config/issues';
import { parseConfig } from '../../config/load';
import rehearsal from '../../examples/rehearsal/runbook.json';
import { type Draft, exampleWith, fieldsOf, HOOK_ARN, minimalDraft, problemsOf } from './fixtures';

/** `minimalDraft()` after `edit`. */
function minimalWith(edit: (draft: Draft) => void): Draft {
  const draft = minimalDraft();
  edit(draft);
  return draft;
}

const parses = (draft: Draft) => () => parseConfig(draft);

describe('target name', () => {
  it.each(['shop-api', 'ab', 'a1', `a${'b'.repeat(39)}`, 'api-v2'])('accepts %s', (name) => {
    expect(parseConfig(minimalWith((c) => (c.name = name))).name).toBe(name);
  });

  it.each(['Shop-api', 'shop_api', 'a', '1shop', 'shop-', '-shop', `a${'b'.repeat(40)}`, 'shop api', ''])('fails when the name is %j', (name) => {
    expect(problemsOf(minimalWith((c) => (c.name = name)))).toEqual([
      `name: must be 2-40 lowercase letters, digits or hyphens, starting with a letter (got ${JSON.stringify(name)})`,
    ]);
  });
});

describe('RDS identifiers', () => {
  const VALID = ['shop-prod-db', 'db', 'A1', 'Shop-Prod-2', `a${'b'.repeat(39)}`];
  const INVALID = ['a--b', 'shop-db-', '1shop', `a${'b'.repeat(63)}`, 'a', 'shop_db', 'shop.db', 'shop db', ''];

  it.each(VALID)('accepts the instance and cluster identifier %s', (id) => {
    expect(parseConfig(exampleWith((c) => (c.database.instanceIdentifier = id))).database).toMatchObject({ instanceIdentifier: id });
    expect(parseConfig(exampleWith((c) => (c.database = { kind: 'aurora-cluster', clusterIdentifier: id }))).database).toMatchObject({ clusterIdentifier: id });
  });

  it('accepts an instance identifier of the full 63 characters', () => {
    const id = `a${'b'.repeat(62)}`;
    expect(parseConfig(exampleWith((c) => (c.database.instanceIdentifier = id))).database).toMatchObject({ instanceIdentifier: id });
  });

  it('fails when a cluster identifier is over 40 characters: its writer’s kept copy would no longer start with it', () => {
    const id = `a${'b'.repeat(40)}`;
    expect(problemsOf(exampleWith((c) => (c.database = { kind: 'aurora-cluster', clusterIdentifier: id })))).toEqual([
      `database.clusterIdentifier: must be at most 40 characters: the writer \`<cluster>-<n>\` is kept as \`<writer>-failed-<timestamp>\`, and that name must fit 63 characters and still start with \`<cluster>-\` (got "${id}")`,
    ]);
  });

  it.each(INVALID)('fails when an identifier is %j (double hyphen, trailing hyphen, over 63, not starting with a letter…)', (id) => {
    const message = `must be an RDS identifier: a letter, then letters, digits or single hyphens (max 63) (got ${JSON.stringify(id)})`;
    expect(problemsOf(exampleWith((c) => (c.database.instanceIdentifier = id)))).toEqual([`database.instanceIdentifier: ${message}`]);
    // A cluster identifier over 63 is also over 40: that problem is listed too.
    expect(problemsOf(exampleWith((c) => (c.database = { kind: 'aurora-cluster', clusterIdentifier: id })))).toContain(`database.clusterIdentifier: ${message}`);
  });
});

describe('ARNs', () => {
  const LAMBDA_VALID = [
    HOOK_ARN,
    'arn:aws:lambda:eu-west-1:123456789012:function:shop-deployer:live',
    'arn:aws:lambda:eu-west-1:123456789012:function:shop_deployer:42',
    'arn:aws:lambda:us-west-2:123456789012:function:shop-deployer:$LATEST',
    'arn:aws-cn:lambda:cn-north-1:123456789012:function:shop-deployer',
    'arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:shop-deployer',
  ];
  const LAMBDA_INVALID = [
    'shop-deployer',
    'arn:aws:lambda:eu-west-1:12345678901:function:shop-deployer',
    'arn:aws:lambda:eu-west-1:123456789012:layer:shop-layer',
    'arn:aws:lambda:EU-WEST-1:123456789012:function:shop-deployer',
    `arn:aws:lambda:eu-west-1:123456789012:function:${'f'.repeat(65)}`,
    'arn:aws:lambda:eu-west-1:123456789012:function:shop-deployer:',
    'arn:aws:states:eu-west-1:123456789012:stateMachine:shop',
  ];

  it.each(LAMBDA_VALID)('accepts the Lambda ARN %s for a hook target and hook migrations', (arn) => {
    const config = parseConfig(minimalWith((c) => ((c.target.functionArn = arn), (c.migrations = { kind: 'hook', functionArn: arn }))));
    expect(config.target).toEqual({ kind: 'hook', functionArn: arn });
    expect(config.migrations).toEqual({ kind: 'hook', functionArn: arn });
  });

  it.each(LAMBDA_INVALID)('fails when a Lambda ARN is %s', (arn) => {
    const problems = problemsOf(minimalWith((c) => ((c.target.functionArn = arn), (c.migrations = { kind: 'hook', functionArn: arn }))));
    expect(problems).toEqual([
      `target.functionArn: must be a Lambda function ARN (got ${describeValue(arn)})`,
      `migrations.functionArn: must be a Lambda function ARN (got ${describeValue(arn)})`,
    ]);
  });

  it.each([
    'arn:aws:sns:eu-west-1:123456789012:shop-deployments',
    'arn:aws:sns:us-east-1:123456789012:Shop_Deployments',
    'arn:aws-cn:sns:cn-north-1:123456789012:deployments',
  ])('accepts the SNS topic ARN %s', (topicArn) => {
    expect(parseConfig(minimalWith((c) => (c.notifications = { topicArn }))).notifications).toEqual({ topicArn, topics: [] });
  });

  it.each([
    ['shop-deployments', ['must be an SNS topic ARN']],
    ['arn:aws:sns:eu-west-1:123:shop-deployments', ['must be an SNS topic ARN']],
    ['arn:aws:sqs:eu-west-1:123456789012:shop-deployments', ['must be an SNS topic ARN']],
    ['arn:aws:sns:eu-west-1:123456789012:shop deployments', ['must be an SNS topic ARN']],
    ['arn:aws:sns:eu-west-1:123456789012:shop-deployments.fifo', ['must be a standard SNS topic: a FIFO topic needs a message group id, which the notifications do not send']],
  ])('fails when the topic ARN is %s', (topicArn, messages) => {
    expect(problemsOf(minimalWith((c) => (c.notifications = { topicArn })))).toEqual(messages.map((m) => `notifications.topicArn: ${m} (got ${JSON.stringify(topicArn)})`));
  });

  it('fails when the KMS key is an alias ARN or a bare key id, saying an alias will not do (a key ARN passes)', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/0c6e4bd4-53b5-4e7f-9a1c-6a1d2f9e8b11';
    expect(parseConfig(exampleWith((c) => (c.database.kmsKeyArn = key))).database).toMatchObject({ kmsKeyArn: key });

    for (const wrong of ['arn:aws:kms:eu-west-1:123456789012:alias/shop-db', '0c6e4bd4-53b5-4e7f-9a1c-6a1d2f9e8b11']) {
      expect(problemsOf(exampleWith((c) => (c.database.kmsKeyArn = wrong)))).toEqual([
        `database.kmsKeyArn: must be a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/<key id>, not an alias (got ${JSON.stringify(wrong)})`,
      ]);
    }
  });

  it('fails when a pass-role ARN names a user, an instance profile or no account (role ARNs with a path pass)', () => {
    const roles = ['arn:aws:iam::123456789012:role/shop-api-task', 'arn:aws:iam::123456789012:role/service-role/shop+api=task,v1.2@team_x'];
    expect(parseConfig(exampleWith((c) => (c.target.passRoleArns = roles))).target).toMatchObject({ passRoleArns: roles });

    const wrong = ['arn:aws:iam::123456789012:user/deployer', 'arn:aws:iam::123456789012:instance-profile/shop', 'arn:aws:iam:::role/shop', 'arn:aws:iam::123456789012:role/'];
    expect(problemsOf(exampleWith((c) => (c.target.passRoleArns = wrong)))).toEqual(
      wrong.map((arn, i) => `target.passRoleArns[${i}]: must be an IAM role ARN (got ${JSON.stringify(arn)})`),
    );
  });
});

describe('smoke checks', () => {
  it.each(['Authorization', 'X-Request-Id', 'x-api-key', 'Accept'])('accepts the header name %s', (header) => {
    const config = parseConfig(minimalWith((c) => (c.smokeTests.checks[0].headers = { [header]: 'value' })));
    expect(config.smokeTests.checks[0].headers).toEqual({ [header]: 'value' });
  });

  it.each([
    ['Bad Header', 'smokeTests.checks[0].headers["Bad Header"]'],
    ['Content-Type:', 'smokeTests.checks[0].headers["Content-Type:"]'],
    ['X_Underscore', 'smokeTests.checks[0].headers.X_Underscore'],
    ['', 'smokeTests.checks[0].headers[""]'],
    ['X'.repeat(65), `smokeTests.checks[0].headers.${'X'.repeat(65)}`],
  ])('fails when a header is named %j, quoting the key in the path', (header, field) => {
    expect(problemsOf(minimalWith((c) => (c.smokeTests.checks[0].headers = { [header]: 'value' })))).toEqual([
      `${field}: key must be an HTTP header name (got ${JSON.stringify(header)})`,
    ]);
  });

  it.each(['/health', '/api/users/{{vars.id}}?expand=roles', '/v{{version}}/status', '/'])('accepts the path %s', (path) => {
    const draft = minimalWith((c) => {
      c.smokeTests.checks[0].path = path;
      c.smokeTests.checks.unshift({ name: 'login', path: '/login', capture: { id: '$.id' } });
    });
    expect(parseConfig(draft).smokeTests.checks[1].path).toBe(path);
  });

  it.each(['https://api.shop.example.com/health', '//evil.example.com/health', 'health', ''])(
    'fails when the path is %j, saying the scheme and host belong in baseUrl',
    (path) => {
      expect(problemsOf(minimalWith((c) => (c.smokeTests.checks[0].path = path)))).toEqual([
        `smokeTests.checks[0].path: must be a path starting with a single / such as /api/health: it is appended to smokeTests.baseUrl, which holds the scheme and host (got ${JSON.stringify(path)})`,
      ]);
    },
  );

  it.each(['health', 'database health', 'login: admin', 'v1.2_check-3', 'A'.repeat(64)])('accepts the check name %j', (name) => {
    expect(parseConfig(minimalWith((c) => (c.smokeTests.checks[0].name = name))).smokeTests.checks[0].name).toBe(name);
  });

  it.each([' leading space', 'A'.repeat(65), 'health/db', '{{version}}', ''])('fails when a check is named %j', (name) => {
    expect(fieldsOf(problemsOf(minimalWith((c) => (c.smokeTests.checks[0].name = name))))).toEqual(['smokeTests.checks[0].name']);
  });

  it('fails when a JSON assertion has none or several of equals, exists, matches, or an invalid regular expression', () => {
    const draft = minimalWith((c) => {
      c.smokeTests.checks[0].expect = {
        json: [{ path: '$.status' }, { path: '$.status', equals: 'ok', exists: true }, { path: '$.version', matches: '([0-9]+' }],
      };
    });

    expect(problemsOf(draft)).toEqual([
      'smokeTests.checks[0].expect.json[0]: needs exactly one of equals, exists, matches (got {"path":"$.status"})',
      'smokeTests.checks[0].expect.json[1]: needs exactly one of equals, exists, matches (got {"path":"$.status","equals":"ok","exists":true})',
      'smokeTests.checks[0].expect.json[2]: matches is not a valid regular expression (got {"path":"$.version","matches":"([0-9]+"})',
    ]);
  });

  it('fails when a status is outside 100-599 or neither a number nor a list of numbers', () => {
    const draft = minimalWith((c) => {
      c.smokeTests.checks = [
        { name: 'a', path: '/a', expect: { status: 99 } },
        { name: 'b', path: '/b', expect: { status: [200, 600] } },
        { name: 'c', path: '/c', expect: { status: '200' } },
      ];
    });

    expect(problemsOf(draft)).toEqual([
      'smokeTests.checks[0].expect.status: Too small: expected number to be >=100 (got 99)',
      'smokeTests.checks[1].expect.status[1]: Too big: expected number to be <=599 (got 600)',
      'smokeTests.checks[2].expect.status: expected number or array (got "200")',
    ]);
  });

  it('fails when a body is not a string, an object or an array, naming the three (each of them passes)', () => {
    for (const body of ['plain text', { a: 1 }, [1, 2]]) {
      const draft = minimalWith((c) => (c.smokeTests.checks[0] = { name: 'create', method: 'POST', path: '/items', body }));
      expect(parseConfig(draft).smokeTests.checks[0].body).toEqual(body);
    }
    const draft = minimalWith((c) => (c.smokeTests.checks[0] = { name: 'create', method: 'POST', path: '/items', body: 42 }));
    expect(problemsOf(draft)).toEqual(['smokeTests.checks[0].body: expected string or object or array (got 42)']);
  });

  it.each(['GET', 'HEAD', undefined])('fails when a %s check carries a body, which fetch would refuse', (method) => {
    const draft = minimalWith((c) => (c.smokeTests.checks[0] = { name: 'search', ...(method ? { method } : {}), path: '/search', body: { q: 'x' } }));
    expect(problemsOf(draft)).toEqual([
      `smokeTests.checks[0].body: a ${method ?? 'GET'} request cannot carry a body; set method to POST, PUT, PATCH or DELETE (got {"q":"x"})`,
    ]);
  });

  it.each([
    ['JSON assertions', { json: [{ path: '$.status', exists: true }] }],
    ['bodyContains', { bodyContains: 'healthy' }],
  ])('fails when a HEAD check expects %s, which a body-less response could never pass', (_what, expectation) => {
    const draft = minimalWith((c) => (c.smokeTests.checks[0] = { name: 'head', method: 'HEAD', path: '/health', expect: expectation }));
    expect(fieldsOf(problemsOf(draft))).toEqual(['smokeTests.checks[0].expect']);
    expect(problemsOf(draft)[0]).toContain('a HEAD response has no body: expect.json and expect.bodyContains could never pass');
  });

  it('accepts a HEAD check that judges the status and latency only', () => {
    const check = { name: 'head', method: 'HEAD', path: '/health', expect: { status: [200, 204], maxLatencyMs: 200 } };
    expect(parseConfig(minimalWith((c) => (c.smokeTests.checks[0] = check))).smokeTests.checks[0]).toMatchObject(check);
  });
});

describe('JSONPaths', () => {
  const VALID = ['$', '$.status', '$.data.items[0].id', '$[0]', '$.user_id', '$.x-request-id', '$.a[10][2].b'];
  const INVALID = ['status', '$.', '$..status', '$.items[*]', '$[-1]', "$['status']", '$.items[0].', '$.1abc', '$.a b', '@.status'];

  it.each(VALID)('accepts %s as an assertion path and as a capture', (path) => {
    const config = parseConfig(minimalWith((c) => (c.smokeTests.checks[0] = { name: 'login', path: '/login', expect: { json: [{ path, exists: true }] }, capture: { value: path } })));
    expect(config.smokeTests.checks[0].expect.json[0].path).toBe(path);
    expect(config.smokeTests.checks[0].capture).toEqual({ value: path });
  });

  it.each(INVALID)('fails when an assertion path or a capture is %j', (path) => {
    const problems = problemsOf(minimalWith((c) => (c.smokeTests.checks[0] = { name: 'login', path: '/login', expect: { json: [{ path, exists: true }] }, capture: { value: path } })));
    expect(problems).toEqual([
      `smokeTests.checks[0].expect.json[0].path: must be a simple JSONPath such as $.data.items[0].id (got ${JSON.stringify(path)})`,
      `smokeTests.checks[0].capture.value: must be a simple JSONPath such as $.data.items[0].id (got ${JSON.stringify(path)})`,
    ]);
  });
});

describe('user-chosen keys and JSON that sits in the state machine', () => {
  const KEY_RULE = 'key must be a letter followed by up to 63 letters, digits, _ or -';

  /** Each place a user names a key: a capture, a secret, an environment variable of the rehearsal process. */
  const PLACES: [string, (key: string) => Draft][] = [
    ['smokeTests.checks[0].capture', (key) => minimalWith((c) => (c.smokeTests.checks[0].capture = { [key]: '$.token' }))],
    ['smokeTests.secrets', (key) => minimalWith((c) => (c.smokeTests.secrets = { [key]: { env: 'SMOKE_PASSWORD' } }))],
    ['target.env', (key) => minimalWith((c) => (c.target = { kind: 'process', command: ['node', 'server.mjs'], port: 47800, env: { [key]: '1' } }))],
  ];

  it.each(PLACES)('fails when a key in %s could read as a JSONPath (foo.$, $$, $) or is not a name', (field, draftWith) => {
    for (const key of ['foo.$', '$$', '$', 'a.b', '1abc', 'my var', 'k'.repeat(65)]) {
      const formatted = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(key) ? `${field}.${key}` : `${field}[${JSON.stringify(key)}]`;
      expect(problemsOf(draftWith(key)), key).toEqual([`${formatted}: ${KEY_RULE} (got ${JSON.stringify(key)})`]);
    }
  });

  it.each(PLACES)('accepts every key in %s made of a letter then letters, digits, _ or -', (_field, draftWith) => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/), (key) => {
        expect(parses(draftWith(key))).not.toThrow();
      }),
      { numRuns: 50 },
    );
  });

  it('fails when a key has a dot or a dollar sign, wherever it sits in the name', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), fc.constantFrom('.', '$', '.$', '$$'), fc.string({ maxLength: 20 }), (before, marker, after) => {
        const key = `${before}${marker}${after}`;
        expect(parses(PLACES[0][1](key))).toThrow(/key must be a letter/);
      }),
      { numRuns: 100 },
    );
  });

  it('fails when a request body or an expected value has a key ending in ".$", which Step Functions would evaluate', () => {
    const draft = exampleWith((c) => {
      c.smokeTests.checks[2].body = { 'email.$': '$.input', profile: { tags: [{ 'name.$': '$$.Execution.Id' }] } };
      c.smokeTests.checks[0].expect.json[0].equals = { 'status.$': 'healthy' };
    });

    const rule = 'keys ending in ".$" are read as JSONPath by Step Functions (the configuration is part of the state machine definition); rename the key';
    expect(problemsOf(draft)).toEqual([
      `smokeTests.checks[0].expect.json[0].equals["status.$"]: ${rule} (got "healthy")`,
      `smokeTests.checks[2].body["email.$"]: ${rule} (got "$.input")`,
      `smokeTests.checks[2].body.profile.tags[0]["name.$"]: ${rule} (got "$$.Execution.Id")`,
    ]);
  });

  it('accepts dollar signs and dots elsewhere in a body: as values, inside keys, at the start of a key', () => {
    const body = { $schema: 'x', 'a.b': '$.not.a.path', price: '$10', 'total$': 1, '.$x': true };
    const draft = minimalWith((c) => (c.smokeTests.checks[0] = { name: 'create', method: 'POST', path: '/items', body }));
    expect(parseConfig(draft).smokeTests.checks[0].body).toEqual(body);
  });
});

describe('image repository of an ECS target', () => {
  it.each(['123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api', 'ghcr.io/acme/shop-api', 'localhost:5000/shop', 'shop-api'])('accepts %s', (repository) => {
    expect(parseConfig(exampleWith((c) => (c.target.imageRepository = repository))).target).toMatchObject({ imageRepository: repository });
  });

  it.each([
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api:latest',
    `shop-api@sha256:${'a'.repeat(64)}`,
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api/',
    'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api',
    'Shop-Api',
    '',
  ])('fails when it is %j, which no image input could match', (repository) => {
    expect(problemsOf(exampleWith((c) => (c.target.imageRepository = repository)))).toEqual([
      `target.imageRepository: must be an image repository without a tag or digest, such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api (got ${describeValue(repository)})`,
    ]);
  });
});

describe('URLs', () => {
  it.each(['https://api.shop.example.com', 'http://127.0.0.1:47800', 'https://api.shop.example.com/v2/'])('accepts the base URL %s', (baseUrl) => {
    expect(parseConfig(minimalWith((c) => (c.smokeTests.baseUrl = baseUrl))).smokeTests.baseUrl).toBe(baseUrl);
  });

  it.each([
    ['ftp://files.shop.example.com', 'must be an http:// or https:// URL'],
    ['api.shop.example.com', 'must be an http:// or https:// URL'],
    ['https://api.shop.example.com/?tenant=1', 'must not have a query string or fragment: each check appends its path to it'],
    ['https://api.shop.example.com/#top', 'must not have a query string or fragment: each check appends its path to it'],
  ])('fails when the base URL is %s', (baseUrl, message) => {
    expect(problemsOf(minimalWith((c) => (c.smokeTests.baseUrl = baseUrl)))).toEqual([`smokeTests.baseUrl: ${message} (got ${JSON.stringify(baseUrl)})`]);
  });

  it.each([
    ['http://169.254.169.254', '169.254.169.254'],
    ['http://169.254.170.2/v2/credentials', '169.254.170.2'],
    ['http://0xa9fea9fe', '169.254.169.254'],
    ['http://2852039166', '169.254.169.254'],
    ['http://[fd00:ec2::254]', '[fd00:ec2::254]'],
    ['http://[::ffff:169.254.169.254]', '[::ffff:a9fe:a9fe]'],
    ['http://[fe80::1]:8080', '[fe80::1]'],
    ['http://metadata.google.internal', 'metadata.google.internal'],
    ['http://instance-data.ec2.internal', 'instance-data.ec2.internal'],
  ])('fails when the base URL %s points at a metadata address, whatever its spelling', (baseUrl, host) => {
    expect(problemsOf(minimalWith((c) => (c.smokeTests.baseUrl = baseUrl)))).toEqual([
      `smokeTests.baseUrl: must not point at a link-local or cloud metadata address (${host}): 169.254.0.0/16, fe80::/10, fd00:ec2::/32 and the metadata host names hand out the credentials of the machine the checks run on (got ${JSON.stringify(baseUrl)})`,
    ]);
  });

  it.each(['http://169.255.169.254', 'http://[fd00:ec3::254]', 'http://[fec0::1]', 'http://[::ffff:10.0.0.1]', 'http://metadata.example.com'])(
    'accepts %s, next to a metadata address but not one',
    (baseUrl) => {
      expect(parseConfig(minimalWith((c) => (c.smokeTests.baseUrl = baseUrl))).smokeTests.baseUrl).toBe(baseUrl);
    },
  );

  it('fails when the metrics URL points at the instance metadata service', () => {
    const draft = structuredClone(rehearsal) as Draft;
    draft.alarms.metricsUrl = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/';

    expect(fieldsOf(problemsOf(draft))).toEqual(['alarms.metricsUrl']);
  });

  it('fails when the metrics URL carries credentials, masking them', () => {
    const draft = structuredClone(rehearsal) as Draft;
    draft.alarms.metricsUrl = 'http://metrics:Scrape-Pa55@127.0.0.1:47800/metrics';

    expect(problemsOf(draft)).toEqual([
      'alarms.metricsUrl: must not contain a user name or password: serve the rehearsal metrics without authentication (got "http://***@127.0.0.1:47800/metrics")',
    ]);
  });
});
