import { describe, expect, it } from 'vitest';
import { excerpt, Redactor } from '../../../../core/tasks/smoke-test/redact';

describe('Redactor', () => {
  it('leaves text alone until a value is added', () => {
    expect(new Redactor().redact('nothing to hide')).toBe('nothing to hide');
  });

  it.each([
    ['as is', 'p@ss "w0rd"/é <x> & y', 'got p@ss "w0rd"/é <x> & y!', 'got ***!'],
    ['JSON-escaped', 'p@ss "w0rd"/é <x> & y', 'got {"password":"p@ss \\"w0rd\\"/é <x> & y"}', 'got {"password":"***"}'],
    ['JSON-escaped twice', 'a"b\\c', 'error: "{\\"password\\":\\"a\\\\\\"b\\\\\\\\c\\"}"', 'error: "{\\"password\\":\\"***\\"}"'],
    ['JSON-escaped to ASCII', 'pässwörd', 'got "p\\u00e4ssw\\u00f6rd"', 'got "***"'],
    ['JSON-escaped with slashes', 'a/b/c', 'got "a\\/b\\/c"', 'got "***"'],
    ['URL-encoded', 'a b/c?d', 'GET /keys/a%20b%2Fc%3Fd', 'GET /keys/***'],
    ['URL-encoded with lower-case hex', 'a b/c?d', 'GET /keys/a%20b%2fc%3fd', 'GET /keys/***'],
    ['form-encoded', 'a b&c', 'password=a+b%26c', 'password=***'],
    ['HTML-escaped', '<a href="x">&', 'Cannot find &lt;a href=&quot;x&quot;&gt;&amp;.', 'Cannot find ***.'],
  ])('masks a value echoed %s', (_form, value, text, masked) => {
    const redactor = new Redactor();
    redactor.add(value);
    expect(redactor.redact(text)).toBe(masked);
  });

  it('masks a value containing another as a whole', () => {
    const redactor = new Redactor();
    redactor.add('tok');
    redactor.add('tok-1234567');
    expect(redactor.redact('token tok-1234567 tok')).toBe('***en *** ***');
  });

  it('masks values added later too', () => {
    const redactor = new Redactor();
    redactor.add('first-secret');
    expect(redactor.redact('first-secret second-secret')).toBe('*** second-secret');
    redactor.add('second-secret');
    expect(redactor.redact('first-secret second-secret')).toBe('*** ***');
  });

  it('treats regular expression characters in values literally', () => {
    const redactor = new Redactor();
    redactor.add('a.*b');
    expect(redactor.redact('aXXb a.*b')).toBe('aXXb ***');
  });

  it.each([0, 1, 2])('masks a value base64-encoded inside a longer encoded text, %i bytes into it', (offset) => {
    const redactor = new Redactor();
    redactor.add('hunter2-correct-horse');
    const encoded = Buffer.from(`${'u'.repeat(offset)}hunter2-correct-horse:tail`).toString('base64');

    const masked = redactor.redact(`Authorization: Basic ${encoded}`);

    expect(masked).toContain('***');
    expect(masked.length).toBeLessThan(`Authorization: Basic ${encoded}`.length - 20);
  });

  it('masks a value base64url-encoded on its own, padding bits included', () => {
    const redactor = new Redactor();
    redactor.add('Test123!@#');
    expect(redactor.redact(`token=${Buffer.from('Test123!@#').toString('base64url')}.`)).toBe('token=***.');
  });

  it('masks a value cut short, from its first 8 characters on', () => {
    const redactor = new Redactor();
    redactor.add('tok-live-5d2e8a7c41b09f36');
    expect(redactor.redact('token tok-live-5d2e8a… and tok-live-5d2e8a7c41b09f36, not tok-liv')).toBe('token ***… and ***, not tok-liv');
  });

  it.each([0, 1, 2])('masks a value base64-encoded and cut short, %i bytes into the encoded text', (offset) => {
    const redactor = new Redactor();
    redactor.add('tok-live-5d2e8a7c41b09f36');
    const encoded = Buffer.from(`${'u'.repeat(offset)}tok-live-5d2e8a7c41b09f36`).toString('base64');
    const cut = encoded.slice(0, 20);

    const masked = redactor.redact(`echo ${cut}…`);

    expect(masked).toContain('***');
    expect(masked.length).toBeLessThanOrEqual(`echo ${cut}…`.length - 10);
  });

  it('leaves short fragments alone: a value of 8 characters or fewer is masked only whole', () => {
    const redactor = new Redactor();
    redactor.add('pass1234');
    expect(redactor.redact('pass123 pass1234 cGFzczEyMzQ=')).toBe('pass123 *** ***=');
  });

  it('ignores empty values', () => {
    const redactor = new Redactor();
    redactor.add('');
    expect(redactor.redact('abc')).toBe('abc');
  });
});

describe('excerpt', () => {
  it('redacts before cutting, so a value across the cut leaves no prefix behind', () => {
    const redactor = new Redactor();
    redactor.add('SECRET-VALUE-123');
    const text = `${'x'.repeat(15)}SECRET-VALUE-123${'y'.repeat(10)}`;

    expect(excerpt(text, redactor, 20)).toBe(`${'x'.repeat(15)}***y…`);
  });

  it('collapses whitespace and keeps short text whole', () => {
    expect(excerpt('  {"a":\n  1}  ', new Redactor(), 200)).toBe('{"a": 1}');
  });

  it('never exceeds the limit', () => {
    expect(excerpt('z'.repeat(500), new Redactor(), 200)).toHaveLength(200);
  });
});
