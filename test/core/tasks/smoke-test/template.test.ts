import { describe, expect, it } from 'vitest';
import { expandJson, expandString, TemplateError, templateRefsIn, type TemplateScope } from '../../../../core/tasks/smoke-test/template';

const scope: TemplateScope = {
  secrets: new Map([['API_KEY', 'k3y/with?odd&chars']]),
  vars: new Map([['token', 'tok-1']]),
  version: 'v1.4.2',
  versionMissing: 'no version is expected (expectedVersion is null)',
};

describe('templateRefsIn', () => {
  it('finds secrets, vars and version references anywhere in nested values', () => {
    expect(templateRefsIn(['/{{version}}', { Authorization: 'Bearer {{ vars.token }}' }, { a: [{ b: '{{secrets.API_KEY}}' }] }, 42, null])).toEqual([
      { scope: 'version' },
      { scope: 'vars', name: 'token' },
      { scope: 'secrets', name: 'API_KEY' },
    ]);
  });

  it('ignores braces that are not one of the three templates', () => {
    expect(templateRefsIn('{{user.name}} {{ versions }} {secrets.X} {{vars.}}')).toEqual([]);
  });
});

describe('expandString', () => {
  it('substitutes every template, tolerating spaces inside the braces', () => {
    expect(expandString('{{version}}:{{ vars.token }}:{{secrets.API_KEY}}:{{other}}', scope)).toBe('v1.4.2:tok-1:k3y/with?odd&chars:{{other}}');
  });

  it('applies the encoder to substituted values only', () => {
    expect(expandString('/keys/{{secrets.API_KEY}}?v=1', scope, encodeURIComponent)).toBe('/keys/k3y%2Fwith%3Fodd%26chars?v=1');
  });

  it('fails when {{version}} is used and no version is expected, saying why', () => {
    expect(() => expandString('{{version}}', { ...scope, version: null })).toThrow(
      new TemplateError('uses {{version}} but no version is expected (expectedVersion is null)'),
    );
  });

  it('fails when a secret is not declared, naming it', () => {
    expect(() => expandString('{{secrets.OTHER}}', scope)).toThrow("uses {{secrets.OTHER}} but smokeTests.secrets has no 'OTHER'");
  });

  it('fails when a variable was not captured, naming it', () => {
    expect(() => expandString('{{vars.session}}', scope)).toThrow("uses {{vars.session}} but no earlier check captures 'session'");
  });
});

describe('expandJson', () => {
  it('expands strings at any depth and leaves keys and other values alone', () => {
    const body = { '{{version}}': '{{version}}', list: ['{{vars.token}}', 1, true, null], nested: { password: '{{secrets.API_KEY}}' } };

    expect(expandJson(body, scope)).toEqual({
      '{{version}}': 'v1.4.2',
      list: ['tok-1', 1, true, null],
      nested: { password: 'k3y/with?odd&chars' },
    });
    expect(body.list[0]).toBe('{{vars.token}}');
  });
});
