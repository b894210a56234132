import { describe, expect, it } from 'vitest';
import { SmokeCheck } from '../../../../config/schema';
import { joinUrl, prepareCheck } from '../../../../core/tasks/smoke-test/request';
import type { TemplateScope } from '../../../../core/tasks/smoke-test/template';

const scope: TemplateScope = {
  secrets: new Map([['PASSWORD', 'pa ss/word']]),
  vars: new Map([['id', 'u/42?admin=1']]),
  version: 'v2',
  versionMissing: 'no version is expected (expectedVersion is null)',
};

describe('joinUrl', () => {
  it.each([
    ['https://api.example.com', '/health', 'https://api.example.com/health'],
    ['https://api.example.com/', '/health', 'https://api.example.com/health'],
    ['https://example.com/api', '/health', 'https://example.com/api/health'],
    ['https://example.com/api//', '/health?full=1', 'https://example.com/api/health?full=1'],
    ['http://127.0.0.1:8080/v1/', '/users/me', 'http://127.0.0.1:8080/v1/users/me'],
  ])('joins %s and %s', (base, path, url) => {
    expect(joinUrl(base, path)).toBe(url);
  });
});

describe('prepareCheck', () => {
  it('expands the path (URL-encoding values), headers and a JSON body, and sends JSON as application/json', () => {
    const check = SmokeCheck.parse({
      name: 'update',
      method: 'PUT',
      path: '/users/{{vars.id}}?v={{version}}',
      headers: { 'X-Version': '{{version}}' },
      body: { password: '{{secrets.PASSWORD}}', tags: ['{{version}}'] },
      expect: { json: [{ path: '$.version', equals: '{{version}}' }, { path: '$.id', exists: true }] },
    });

    const prepared = prepareCheck(check, 'https://example.com/api/', scope);

    expect(prepared.url).toBe('https://example.com/api/users/u%2F42%3Fadmin%3D1?v=v2');
    expect(prepared.init.method).toBe('PUT');
    expect(Object.fromEntries(prepared.init.headers)).toEqual({ 'x-version': 'v2', 'content-type': 'application/json' });
    expect(JSON.parse(prepared.init.body as string)).toEqual({ password: 'pa ss/word', tags: ['v2'] });
    expect(prepared.assertions).toEqual([
      { path: '$.version', equals: 'v2' },
      { path: '$.id', exists: true },
    ]);
  });

  it('sends a string body as written, after expansion, and keeps a content type the check sets', () => {
    const check = SmokeCheck.parse({
      name: 'form login',
      method: 'POST',
      path: '/login',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'user=smoke&password={{secrets.PASSWORD}}',
    });

    const prepared = prepareCheck(check, 'https://example.com', scope);

    expect(prepared.init.body).toBe('user=smoke&password=pa ss/word');
    expect(prepared.init.headers.get('content-type')).toBe('application/x-www-form-urlencoded');
  });

  it('sends no body and no content type when the check has none', () => {
    const prepared = prepareCheck(SmokeCheck.parse({ name: 'health', path: '/health' }), 'https://example.com', scope);

    expect(prepared.init).toEqual({ method: 'GET', headers: new Headers() });
    expect('body' in prepared.init).toBe(false);
  });

  it('fails when a template cannot be expanded', () => {
    expect(() => prepareCheck(SmokeCheck.parse({ name: 'v', path: '/{{version}}' }), 'https://example.com', { ...scope, version: null })).toThrow(
      'uses {{version}} but no version is expected (expectedVersion is null)',
    );
  });
});
