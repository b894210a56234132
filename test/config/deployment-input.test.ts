import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AnalyzeRequest, DeployRequest, MAX_GATE_CHECKS, requestSchemaFor, RollbackRequest } from '../../config/deployment-input';
import { IMAGE_REFERENCE } from '../../config/image-reference';
import { describeValue, formatIssues } from '../../config/issues';

const REPOSITORY = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop-api';
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** The problem lines ValidateInput would report for `input`, parsed with the schema `requestSchemaFor` picks. */
function problemsOf(input: Record<string, unknown>): string[] {
  const result = requestSchemaFor(input).safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be refused`);
  return formatIssues(result.error, input);
}

const validVersion = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/).filter((v) => !v.includes('..'));

describe('DeployRequest', () => {
  it('defaults the action to deploy', () => {
    expect(DeployRequest.parse({ version: 'v1.4.2' })).toEqual({ action: 'deploy', version: 'v1.4.2' });
  });

  it('accepts every documented field', () => {
    const request = { action: 'deploy', version: 'v1.4.2', image: `${REPOSITORY}:v1.4.2`, requestedBy: 'github-actions', reason: 'release 1.4.2' };
    expect(DeployRequest.parse(request)).toEqual(request);
  });

  it.each(['v1.4.2', '1.4.2', '2025.03.04-1', '1.0.0-rc.1+build.5', 'a1b2c3d', 'release_42', 'V2'])('accepts the version %s', (version) => {
    expect(DeployRequest.parse({ version }).version).toBe(version);
  });

  it('accepts any version of letters, digits, . _ + - that starts with a letter or digit, up to 128 characters', () => {
    fc.assert(
      fc.property(validVersion, (version) => {
        expect(DeployRequest.safeParse({ version }).success).toBe(true);
      }),
    );
  });

  it('fails when a version contains a slash, a space, .. or a control character, wherever it sits', () => {
    const bad = fc.constantFrom('/', ' ', '..', '\n', '\t', '\u0000', '\u001b', '\u007f', '\\', ';', '$');
    fc.assert(
      fc.property(validVersion, bad, fc.nat(), (version, insert, at) => {
        const cut = at % (version.length + 1);
        const broken = `${version.slice(0, cut)}${insert}${version.slice(cut)}`;
        const problems = problemsOf({ version: broken });
        expect(problems.length).toBeGreaterThan(0);
        expect(problems.every((line) => line.startsWith('version: '))).toBe(true);
      }),
    );
  });

  it('fails when a version is longer than 128 characters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{129,300}$/), (version) => {
        expect(problemsOf({ version })[0]).toMatch(/^version: Too big: expected string to have <=128 characters \(got "/);
      }),
      { numRuns: 20 },
    );
  });

  it.each([
    ['../etc', ['version: must start with a letter or digit and use only letters, digits, . _ + - (got "../etc")', 'version: must not contain .. (got "../etc")']],
    ['v1..2', ['version: must not contain .. (got "v1..2")']],
    ['-v1', ['version: must start with a letter or digit and use only letters, digits, . _ + - (got "-v1")']],
    ['', ['version: Too small: expected string to have >=1 characters (got "")', 'version: must start with a letter or digit and use only letters, digits, . _ + - (got "")']],
  ])('fails when the version is %j, saying why', (version, lines) => {
    expect(problemsOf({ version })).toEqual(lines);
  });

  it.each([
    ['version is missing', {}, ['version: required (expected string)']],
    ['version is a number', { version: 42 }, ['version: Invalid input: expected string, received number (got 42)']],
    ['image is a number', { version: 'v1', image: 42 }, ['image: Invalid input: expected string, received number (got 42)']],
    ['requestedBy is empty', { version: 'v1', requestedBy: '' }, ['requestedBy: Too small: expected string to have >=1 characters (got "")']],
    ['reason is an object', { version: 'v1', reason: { text: 'x' } }, ['reason: Invalid input: expected string, received object (got {"text":"x"})']],
    ['an unknown field is sent', { version: 'v1', force: true }, ['force: unknown field (got true)']],
    ['a rollback field is sent with a deploy', { version: 'v1', alarm: { name: 'x' } }, ['alarm: unknown field (got {"name":"x"})']],
    ['the action is unknown', { action: 'destroy', version: 'v1' }, ['action: must be "deploy" (the default), "rollback", "watch", "drill", "check" or "analyze" (got "destroy")']],
    ['the action has the wrong case', { action: 'Rollback', version: 'v1' }, ['action: must be "deploy" (the default), "rollback", "watch", "drill", "check" or "analyze" (got "Rollback")']],
  ])('fails when %s, naming the field', (_case, input, lines) => {
    expect(problemsOf(input)).toEqual(lines);
  });
});

describe("AnalyzeRequest: a release plan's analysis gate", () => {
  const plan = { name: 'shop', execution: 'arn:aws:states:eu-west-1:123456789012:execution:ReleasePlan:plan-1', stage: 'production', version: 'v1.5.0' };

  it('accepts no metrics (every deciding one), named metrics, and the plan that asks', () => {
    expect(requestSchemaFor({ action: 'analyze' })).toBe(AnalyzeRequest);
    expect(AnalyzeRequest.parse({ action: 'analyze' })).toEqual({ action: 'analyze' });
    const request = { action: 'analyze', metrics: ['p95', 'error_rate'], plan, requestedBy: 'release-plan shop', reason: 'gate 1' };
    expect(AnalyzeRequest.parse(request)).toEqual(request);
  });

  it.each([
    ['an empty metric list', { action: 'analyze', metrics: [] }, 'metrics: Too small: expected array to have >=1 items (got [])'],
    ['a metric name with a quote', { action: 'analyze', metrics: ["p95' or 1"] }, `metrics[0]: must be a letter followed by up to 63 letters, digits, _ or - (got "p95' or 1")`],
    ['too many metrics', { action: 'analyze', metrics: Array.from({ length: MAX_GATE_CHECKS + 1 }, (_, i) => `m${i}`) }, `metrics: Too big: expected array to have <=${MAX_GATE_CHECKS} items`],
    ['a version (the gate measures what is released)', { action: 'analyze', version: 'v1' }, 'version: unknown field (got "v1")'],
  ])('refuses %s, naming the field and the value', (_case, input, line) => {
    expect(problemsOf(input).join('\n')).toContain(line);
  });
});

describe('IMAGE_REFERENCE', () => {
  const ACCEPTED = [
    `${REPOSITORY}:v1.4.2`,
    `${REPOSITORY}@${DIGEST}`,
    `${REPOSITORY}:v1.4.2@${DIGEST}`,
    '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/shop-api:2025.03.04-1',
    'nginx',
    'nginx:1.27-alpine',
    'library/nginx:latest',
    'docker.io/library/nginx:1.27',
    'public.ecr.aws/docker/library/redis:7.2',
    'ghcr.io/acme/shop_api:sha-abc123',
    'quay.io/prometheus/node-exporter:v1.8.2',
    'localhost:5000/shop-api:dev',
    'registry.example.com:443/team/app:1.0',
    'my__app:V1.0_RC',
    'a-----b:_tag',
  ];
  const REFUSED = [
    ['uppercase in the repository', 'Shop/App:v1'],
    ['uppercase in an ECR repository', '123456789012.dkr.ecr.eu-west-1.amazonaws.com/Shop-Api:v1'],
    ['a colon without a tag', 'shop-api:'],
    ['a colon without a tag before a digest', `shop-api:@${DIGEST}`],
    ['a short digest', 'shop-api@sha256:abc123'],
    ['an uppercase digest', `shop-api@sha256:${'A'.repeat(64)}`],
    ['another digest algorithm', `shop-api@sha512:${'a'.repeat(128)}`],
    ['a space', 'shop api:v1'],
    ['a tag starting with a hyphen', 'shop-api:-v1'],
    ['a tag of 129 characters', `shop-api:${'t'.repeat(129)}`],
    ['no repository', ':v1'],
    ['a leading slash', '/shop-api'],
    ['a trailing slash', 'shop-api/'],
    ['an empty path component', 'shop//api'],
    ['a double dot', 'shop..api'],
    ['three underscores', 'shop___api'],
    ['a URL scheme', 'https://registry.example.com/app:v1'],
    ['a port without a path', 'registry.example.com:5000:v1'],
  ];

  it.each(ACCEPTED)('accepts %s', (image) => {
    expect(image).toMatch(IMAGE_REFERENCE);
    expect(DeployRequest.parse({ version: 'v1', image }).image).toBe(image);
  });

  it.each(REFUSED)('fails when the image has %s: %s', (_why, image) => {
    expect(image).not.toMatch(IMAGE_REFERENCE);
    expect(problemsOf({ version: 'v1', image })).toContain(
      `image: must be an image reference such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1.4.2 (got ${describeValue(image)})`,
    );
  });
});

describe('RollbackRequest', () => {
  it('accepts a manual rollback with only the action', () => {
    expect(RollbackRequest.parse({ action: 'rollback' })).toEqual({ action: 'rollback' });
  });

  it('accepts the alarm the EventBridge rule sends, and who asked and why', () => {
    const request = {
      action: 'rollback',
      alarm: { name: 'shop-api-5xx-rate', reason: 'Threshold Crossed: 1 datapoint [2.5] was greater than the threshold (1.0).', time: '2025-03-04T10:15:00Z' },
      requestedBy: 'eventbridge',
      reason: 'alarm',
    };
    expect(RollbackRequest.parse(request)).toEqual(request);
  });

  it.each([
    ['the alarm has no name', { action: 'rollback', alarm: {} }, ['alarm.name: required (expected string)']],
    ['the alarm name is empty', { action: 'rollback', alarm: { name: '' } }, ['alarm.name: Too small: expected string to have >=1 characters (got "")']],
    ['the alarm has an unknown field', { action: 'rollback', alarm: { name: 'a', state: 'ALARM' } }, ['alarm.state: unknown field (got "ALARM")']],
    ['a version is sent', { action: 'rollback', version: 'v1.4.2' }, ['version: unknown field (got "v1.4.2")']],
    ['an image is sent', { action: 'rollback', image: 'nginx' }, ['image: unknown field (got "nginx")']],
    ['the alarm time is a number', { action: 'rollback', alarm: { name: 'a', time: 1741083300 } }, ['alarm.time: Invalid input: expected string, received number (got 1741083300)']],
  ])('fails when %s, naming the field', (_case, input, lines) => {
    expect(problemsOf(input)).toEqual(lines);
  });
});

describe('requestSchemaFor', () => {
  it('picks the rollback schema for action "rollback" only', () => {
    expect(requestSchemaFor({ action: 'rollback' })).toBe(RollbackRequest);
  });

  it.each([{ action: 'deploy' }, {}, { action: 'Rollback' }, { action: 'rollback ' }, { action: ['rollback'] }, null, [], 'rollback', 42, undefined])(
    'picks the deploy schema for %j',
    (raw) => {
      expect(requestSchemaFor(raw)).toBe(DeployRequest);
    },
  );
});
