import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientConfigOf, InvalidDatabaseUrlError, parsePostgresUrl, redact, withDatabase } from '../../../adapters/local/pg-connection';

describe('parsePostgresUrl', () => {
  it('splits the password from the rest of the URL', () => {
    expect(parsePostgresUrl('postgres://app:s3cr%40t@db.internal:5433/shop?sslmode=require')).toEqual({
      safeUrl: 'postgres://app@db.internal:5433/shop?sslmode=require',
      password: 's3cr@t',
      database: 'shop',
    });
  });

  it('accepts a URL without a password', () => {
    expect(parsePostgresUrl('postgresql://app@127.0.0.1/shop')).toEqual({ safeUrl: 'postgresql://app@127.0.0.1/shop', password: undefined, database: 'shop' });
  });

  it('fails when the URL names no database, without repeating the password', () => {
    const attempt = () => parsePostgresUrl('postgres://app:hunter2@127.0.0.1:5432', 'the URL in DATABASE_URL');

    expect(attempt).toThrow(InvalidDatabaseUrlError);
    expect(attempt).toThrow('the URL in DATABASE_URL must name a database');
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('fails when the scheme is not postgres', () => {
    expect(() => parsePostgresUrl('mysql://app:pw@host/shop')).toThrow('must start with postgres:// (got "mysql://…")');
  });

  it('fails when the value is not a URL', () => {
    expect(() => parsePostgresUrl('host=127.0.0.1 dbname=shop')).toThrow(InvalidDatabaseUrlError);
  });
});

describe('withDatabase', () => {
  it('swaps the database and keeps credentials, host and parameters', () => {
    expect(withDatabase('postgres://app:pw@127.0.0.1:5432/shop?sslmode=disable', 'postgres')).toBe('postgres://app:pw@127.0.0.1:5432/postgres?sslmode=disable');
  });

  it('encodes database names that need it', () => {
    expect(parsePostgresUrl(withDatabase('postgres://app@h/shop', 'shop restore/1')).database).toBe('shop restore/1');
  });
});

describe('redact', () => {
  it('removes a password from any URL in the text', () => {
    expect(redact('connection to postgres://app:pw123@h:5432/shop failed', [])).toBe('connection to postgres://app:***@h:5432/shop failed');
  });

  it('never lets a given secret through, raw or URL-encoded', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 4, maxLength: 30 }), fc.string(), fc.string(), (secret, before, after) => {
        const text = `${before}${secret}${after} / ${encodeURIComponent(secret)}`;
        const clean = redact(text, [secret]);
        expect(clean).not.toContain(secret);
        expect(clean).not.toContain(encodeURIComponent(secret));
      }),
    );
  });
});

describe('clientConfigOf: sslmode as libpq reads it', () => {
  it.each([
    ['require', { rejectUnauthorized: false }],
    ['prefer', { rejectUnauthorized: false }],
  ])('sslmode=%s encrypts without checking the certificate, as pg_dump does', (sslmode, ssl) => {
    expect(clientConfigOf(`postgres://app:pw@db.internal:5432/shop?sslmode=${sslmode}`)).toEqual({ connectionString: 'postgres://app:pw@db.internal:5432/shop', ssl });
  });

  it('sslmode=verify-ca checks the chain but not the host name', () => {
    const config = clientConfigOf('postgres://app:pw@10.0.0.5:5432/shop?sslmode=verify-ca');
    expect(config.connectionString).toBe('postgres://app:pw@10.0.0.5:5432/shop');
    const ssl = config.ssl as { rejectUnauthorized: boolean; checkServerIdentity: () => unknown };
    expect(ssl.rejectUnauthorized).toBe(true);
    expect(ssl.checkServerIdentity()).toBeUndefined();
  });

  it.each(['verify-full', 'disable'])('leaves sslmode=%s to node-postgres, which reads it as libpq does', (sslmode) => {
    const url = `postgres://app:pw@db.internal:5432/shop?sslmode=${sslmode}`;
    expect(clientConfigOf(url)).toEqual({ connectionString: url });
  });

  it('leaves a URL without sslmode as it is', () => {
    expect(clientConfigOf('postgres://app@127.0.0.1:5432/shop')).toEqual({ connectionString: 'postgres://app@127.0.0.1:5432/shop' });
  });
});
