import fc from 'fast-check';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { describeValue, formatIssues, formatPath } from '../../config/issues';

/** The lines formatIssues makes of `schema` refusing `input`. */
function linesFor(schema: z.ZodType, input: unknown, prefix?: string): string[] {
  const result = schema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return formatIssues(result.error, input, prefix);
}

describe('describeValue', () => {
  it.each([
    [undefined, 'nothing'],
    [null, 'null'],
    ['v1.4.2', '"v1.4.2"'],
    [42, '42'],
    [true, 'true'],
    [[1, 'a'], '[1,"a"]'],
    [{ kind: 'ecs' }, '{"kind":"ecs"}'],
  ])('renders %j as %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  it('renders values JSON cannot hold without throwing', () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(describeValue(circular)).toBe('[object Object]');
    expect(describeValue(10n)).toBe('10');
  });

  it('keeps every rendering within 80 characters, marking a cut with ...', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = describeValue(value);
        expect(text.length).toBeLessThanOrEqual(80);
        const whole = JSON.stringify(value) ?? 'nothing';
        if (whole.length > 80) expect(text.endsWith('...')).toBe(true);
        else expect(text).toBe(whole);
      }),
    );
  });

  it.each([
    ['https://smoke:Test123!@api.shop.example.com/health', '"https://***@api.shop.example.com/health"'],
    ['postgres://app:s3cr3t@127.0.0.1:5432/shop', '"postgres://***@127.0.0.1:5432/shop"'],
    ['http://user:p@ss@host/x', '"http://***@host/x"'],
    ['see https://token@ghcr.io/v2/ and git+ssh://git:pw@github.com/x', '"see https://***@ghcr.io/v2/ and git+ssh://***@github.com/x"'],
    ['smoke-test@example.com', '"smoke-test@example.com"'],
    ['https://api.shop.example.com/users/@me', '"https://api.shop.example.com/users/@me"'],
  ])('masks the credentials of URLs in %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });

  it('never shows a URL password, however the value is nested or cut', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,10}$/), fc.stringMatching(/^Pw9[A-Za-z0-9!$&*+,;=-]{5,30}$/), fc.string({ maxLength: 90 }), (user, password, padding) => {
        const url = `https://${user}:${password}@db.example.com/`;
        for (const value of [url, { url }, [padding, url], `${padding}${url}`]) expect(describeValue(value)).not.toContain(password);
      }),
    );
  });
});

describe('formatPath', () => {
  it.each([
    ['', [], '(root)'],
    ['config', [], 'config'],
    ['', ['name'], 'name'],
    ['config', ['name'], 'config.name'],
    ['', ['smokeTests', 'checks', 2, 'expect', 'status'], 'smokeTests.checks[2].expect.status'],
    ['', [0, 'id'], '[0].id'],
    ['', ['headers', 'X-Request-Id'], 'headers.X-Request-Id'],
    ['', ['headers', 'Bad Header'], 'headers["Bad Header"]'],
    ['', ['capture', 'foo.$'], 'capture["foo.$"]'],
    ['', ['secrets', '$$'], 'secrets["$$"]'],
    ['', ['body', ''], 'body[""]'],
    ['', ['body', 'say "hi"'], 'body["say \\"hi\\""]'],
  ] as [string, PropertyKey[], string][])('formats prefix %j and path %j as %s', (prefix, path, text) => {
    expect(formatPath(prefix, path)).toBe(text);
  });
});

describe('formatIssues', () => {
  it('names the field, the rule and the value received', () => {
    expect(linesFor(z.strictObject({ port: z.number().int().max(65535) }), { port: 70000 })).toEqual(['port: Too big: expected number to be <=65535 (got 70000)']);
  });

  it('says "required" for a missing field, with the type expected', () => {
    expect(linesFor(z.strictObject({ a: z.strictObject({ b: z.string() }) }), { a: {} })).toEqual(['a.b: required (expected string)']);
  });

  it('puts the prefix in front of every path', () => {
    expect(linesFor(z.strictObject({ name: z.string() }), { name: 1, extra: 2 }, 'config')).toEqual([
      'config.name: Invalid input: expected string, received number (got 1)',
      'config.extra: unknown field (got 2)',
    ]);
  });

  it('reports each unrecognized key on its own line, with its value', () => {
    expect(linesFor(z.strictObject({ a: z.number() }), { a: 1, b: 2, c: { d: 3 } })).toEqual(['b: unknown field (got 2)', 'c: unknown field (got {"d":3})']);
  });

  it('removes duplicate lines', () => {
    const schema = z.strictObject({ tag: z.string().regex(/^v/, 'must start with v').regex(/^v/, 'must start with v') });
    expect(linesFor(schema, { tag: 'x1' })).toEqual(['tag: must start with v (got "x1")']);
  });

  it('reports the deepest branch of a union rather than every alternative', () => {
    const schema = z.union([z.strictObject({ kind: z.literal('flat'), x: z.number() }), z.strictObject({ nested: z.strictObject({ deep: z.strictObject({ value: z.string() }) }) })]);
    expect(linesFor(schema, { nested: { deep: { value: 1 } } })).toEqual(['nested.deep.value: Invalid input: expected string, received number (got 1)']);
  });

  it('reports the union branch that knows the keys written, not one that would call them unknown', () => {
    const ref = z.union([z.strictObject({ secretsManager: z.string(), jsonKey: z.string().optional() }), z.strictObject({ env: z.string() })]);
    expect(linesFor(z.strictObject({ ref }), { ref: { secretsManager: 'shop/smoke', surprise: 1 } })).toEqual(['ref.surprise: unknown field (got 1)']);
    expect(linesFor(z.strictObject({ ref }), { ref: { env: 5 } })).toEqual(['ref.env: Invalid input: expected string, received number (got 5)']);
  });

  it('lists the accepted types when no alternative of a union takes the value type', () => {
    const schema = z.strictObject({ status: z.union([z.number(), z.array(z.number())]) });
    expect(linesFor(schema, { status: '200' })).toEqual(['status: expected number or array (got "200")']);
    expect(linesFor(schema, {})).toEqual(['status: required (expected number or array)']);
  });

  it('names the kinds of a discriminated union, saying "required" when the kind is missing', () => {
    const schema = z.strictObject({ target: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('ecs') }), z.strictObject({ kind: z.literal('hook') })]) });
    expect(linesFor(schema, { target: { kind: 'k8s' } })).toEqual(["target.kind: must be one of 'ecs', 'hook' (got \"k8s\")"]);
    expect(linesFor(schema, { target: {} })).toEqual(["target.kind: required (one of 'ecs', 'hook')"]);
  });

  it('shows a refused record key itself, quoted in the path, with the rule it breaks', () => {
    const schema = z.strictObject({ capture: z.record(z.string().regex(/^[A-Za-z]+$/, 'must be letters'), z.string()) });
    expect(linesFor(schema, { capture: { 'token.$': '$.token' } })).toEqual(['capture["token.$"]: key must be letters (got "token.$")']);
  });

  it.each(['password', 'dbPassword', 'client_secret', 'apiKey', 'x-api-key', 'Authorization', 'taskToken', 'Cookie', 'credentials'])(
    'never shows the value under a field named %s, only its length',
    (field) => {
      const schema = z.strictObject({ outer: z.strictObject({ [field]: z.string().min(20) }) });
      expect(linesFor(schema, { outer: { [field]: 'hunter2' } })).toEqual([`${formatPath('', ['outer', field])}: Too small: expected string to have >=20 characters (got a string of 7 characters, not shown)`]);
      expect(linesFor(z.strictObject({}), { [field]: { value: 'hunter2' } })).toEqual([`${formatPath('', [field])}: unknown field (got a value that is not shown)`]);
    },
  );

  it('hides values below a sensitive field too, and counts a single character in the singular', () => {
    const schema = z.strictObject({ secrets: z.record(z.string(), z.strictObject({ env: z.string().regex(/^[A-Z]+$/, 'must be upper case') })) });
    expect(linesFor(schema, { secrets: { A: { env: 'x' } } })).toEqual(['secrets.A.env: must be upper case (got a string of 1 character, not shown)']);
  });
});
