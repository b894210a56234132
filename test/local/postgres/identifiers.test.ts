import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedIdentifier, compactTimestamp, fromCompactTimestamp, MAX_IDENTIFIER_BYTES } from '../../../local/postgres/identifiers';

const suffixes = fc.constantFrom('_restore_20250304050607', '_failed_20250304050607');

describe('boundedIdentifier', () => {
  it('keeps a short name as it is', () => {
    expect(boundedIdentifier('shop', '_failed_20250304050607')).toBe('shop_failed_20250304050607');
  });

  it('always fits 63 bytes and keeps the suffix whole, whatever the base', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), suffixes, (base, suffix) => {
        const name = boundedIdentifier(base, suffix);
        expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
        expect(name.endsWith(suffix)).toBe(true);
      }),
    );
  });

  it('never cuts a multi-byte character in half', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 40, maxLength: 120 }), suffixes, (base, suffix) => {
        const name = boundedIdentifier(base, suffix);
        expect(Buffer.from(name, 'utf8').toString('utf8')).toBe(name);
        expect(name).not.toContain('\uFFFD');
      }),
    );
  });

  it('keeps two long names with a common prefix apart', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 60, maxLength: 60 }), fc.string({ minLength: 1, maxLength: 10 }), fc.string({ minLength: 1, maxLength: 10 }), suffixes, (prefix, a, b, suffix) => {
        fc.pre(a !== b);
        expect(boundedIdentifier(prefix + a, suffix)).not.toBe(boundedIdentifier(prefix + b, suffix));
      }),
    );
  });

  it('shortens a 63-character database name to a readable prefix, a hash and the suffix', () => {
    const name = boundedIdentifier('a'.repeat(63), '_restore_20250304050607');

    expect(name).toMatch(/^a{31}_[0-9a-f]{8}_restore_20250304050607$/);
  });
});

describe('compactTimestamp', () => {
  it('formats an ISO time as yyyymmddhhmmss in UTC', () => {
    expect(compactTimestamp('2025-03-04T05:06:07.890Z')).toBe('20250304050607');
    expect(compactTimestamp('2025-03-04T23:30:00+02:00')).toBe('20250304213000');
  });

  it('round-trips through fromCompactTimestamp to whole seconds', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2199-12-31T23:59:59Z'), noInvalidDate: true }), (date) => {
        const whole = new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString();
        expect(fromCompactTimestamp(compactTimestamp(date.toISOString()))).toBe(whole);
      }),
    );
  });
});
