import { withClient } from '../../adapters/local/pg-connection';

/** Rows added to the demo's v1 schema: enough for the dump, the restore and the data fingerprint to mean something. */
export const DEMO_SEED = { users: 500, items: 3000 } as const;

/**
 * Fills the demo app's `users` and `items` (created by its v1 migration) with customers and products, once:
 * a database that already holds more than the migration's own rows is left as it is. Databases of other
 * apps (no such tables) are not touched. Returns the rows added.
 */
export async function seedDemoData(url: string): Promise<number> {
  return withClient(url, async (client) => {
    const { rows: tables } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('users', 'items')",
    );
    if (tables.length < 2) return 0;
    const { rows } = await client.query<{ users: string }>('SELECT count(*)::text AS users FROM users');
    // The v1 migration creates the smoke-test user only.
    if (Number(rows[0].users) > 1) return 0;
    await client.query('BEGIN');
    try {
      const users = await client.query(
        "INSERT INTO users (email, created_at) SELECT 'customer' || g || '@example.com', timestamptz '2025-01-01' + g * interval '17 minutes' FROM generate_series(1, $1::int) g",
        [DEMO_SEED.users],
      );
      const items = await client.query(
        `INSERT INTO items (name, created_at)
         SELECT (ARRAY['mug', 'lamp', 'desk', 'chair', 'shelf', 'rug', 'kettle', 'clock'])[1 + g % 8] || ' #' || g, timestamptz '2025-01-01' + g * interval '3 minutes'
         FROM generate_series(1, $1::int) g`,
        [DEMO_SEED.items],
      );
      await client.query('COMMIT');
      return (users.rowCount ?? 0) + (items.rowCount ?? 0);
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  });
}
