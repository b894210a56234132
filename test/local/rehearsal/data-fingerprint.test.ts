import { describe, expect, it } from 'vitest';
import { withClient } from '../../../adapters/local/pg-connection';
import { compareFingerprints, type DataFingerprint, dataFingerprint } from '../../../local/rehearsal/data-fingerprint';
import { seedDemoData } from '../../../local/rehearsal/demo-data';
import { createDatabase, usePostgres } from '../postgres/fixtures';

const server = usePostgres();

const SCHEMA = `
  CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL UNIQUE, created_at timestamptz NOT NULL DEFAULT '2025-01-01');
  CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, created_at timestamptz NOT NULL DEFAULT '2025-01-01');
  CREATE TABLE tags (label text NOT NULL);
  INSERT INTO users (email) VALUES ('smoke-test@example.com');`;

async function demoDatabase(name: string, statements = SCHEMA): Promise<string> {
  const url = await createDatabase(server(), name);
  await withClient(url, (client) => client.query(statements));
  return url;
}

const table = (rows: number, md5: string, columns = ['id', 'name']) => ({ rows, md5, columns });

describe('dataFingerprint', () => {
  it('is the same for the same data whatever the physical order, and names every column', async () => {
    const first = await demoDatabase('fp_first');
    const second = await demoDatabase('fp_second');
    await withClient(first, (client) => client.query("INSERT INTO items (id, name) VALUES (1, 'mug'), (2, 'lamp'), (3, 'desk'); INSERT INTO tags VALUES ('b'), ('a')"));
    await withClient(second, (client) => client.query("INSERT INTO items (id, name) VALUES (3, 'desk'), (1, 'mug'), (2, 'lamp'); INSERT INTO tags VALUES ('a'), ('b')"));

    const a = await dataFingerprint(first);
    const b = await dataFingerprint(second);

    expect(a).toEqual(b);
    expect(Object.keys(a.tables)).toEqual(['items', 'tags', 'users']);
    expect(a.tables.items).toMatchObject({ rows: 3, columns: ['id', 'name', 'created_at'] });
  });

  it('changes when a value, a row or a column changes', async () => {
    const url = await demoDatabase('fp_changes');
    await withClient(url, (client) => client.query("INSERT INTO items (name) VALUES ('mug'), ('lamp')"));
    const before = await dataFingerprint(url);

    await withClient(url, (client) => client.query("UPDATE items SET name = 'cup' WHERE name = 'mug'"));
    const edited = await dataFingerprint(url);
    await withClient(url, (client) => client.query('ALTER TABLE items ADD COLUMN price_cents integer NOT NULL DEFAULT 0'));
    const widened = await dataFingerprint(url);

    expect(edited.tables.items.md5).not.toBe(before.tables.items.md5);
    expect(edited.tables.users).toEqual(before.tables.users);
    expect(widened.tables.items.columns).toContain('price_cents');
  });
});

describe('seedDemoData', () => {
  it("fills the demo's users and items once, leaving other databases alone", async () => {
    const demo = await demoDatabase('seed_demo');
    const other = await demoDatabase('seed_other', 'CREATE TABLE accounts (id int PRIMARY KEY)');

    const added = await seedDemoData(demo);
    const again = await seedDemoData(demo);

    expect(added).toBe(3500);
    expect(again).toBe(0);
    expect(await seedDemoData(other)).toBe(0);
    expect((await dataFingerprint(demo)).tables).toMatchObject({ users: { rows: 501 }, items: { rows: 3000 } });
  });
});

describe('compareFingerprints', () => {
  const before: DataFingerprint = { tables: { items: table(4, 'a'), users: table(1, 'b', ['id', 'email']) } };

  it('finds identical data identical', () => {
    expect(compareFingerprints(before, structuredClone(before))).toEqual({ identical: true, noRowsLost: true, rowsBefore: 5, rowsAfter: 5, differences: [] });
  });

  it('tells a release that added a column and rows from one that lost rows', () => {
    const grown = compareFingerprints(before, { tables: { items: table(5, 'c', ['id', 'name', 'price_cents']), users: table(1, 'b', ['id', 'email']), schema_migrations: table(2, 'd', ['version']) } });
    const shrunk = compareFingerprints(before, { tables: { items: table(2, 'e'), users: table(1, 'b', ['id', 'email']) } });

    expect(grown).toMatchObject({ identical: false, noRowsLost: true, rowsAfter: 8 });
    expect(grown.differences).toEqual(['items: 4 → 5 rows', 'items: column price_cents added', 'schema_migrations: table added']);
    expect(shrunk).toMatchObject({ identical: false, noRowsLost: false, differences: ['items: 4 → 2 rows'] });
  });

  it('fails the data when a table is gone or its values changed', () => {
    const gone = compareFingerprints(before, { tables: { items: table(4, 'a') } });
    const edited = compareFingerprints(before, { tables: { items: table(4, 'z'), users: table(1, 'b', ['id', 'email']) } });

    expect(gone).toMatchObject({ identical: false, noRowsLost: false, differences: ['users: table gone (had 1 rows)'] });
    expect(edited).toMatchObject({ identical: false, noRowsLost: true, differences: ['items: values changed'] });
  });
});
