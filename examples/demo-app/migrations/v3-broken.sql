-- migrate:no-transaction
-- v3-broken: the "migration-failure" scenario. Each statement commits on its own (as in a migration
-- that cannot run in a transaction). The third fails after two destructive steps have committed: only
-- restoring the pre-deploy snapshot brings the prices and the deleted items back.
ALTER TABLE items DROP COLUMN price_cents;

DELETE FROM items WHERE id % 2 = 0;

INSERT INTO item_prices (item_id, price_cents) SELECT id, price_cents FROM items;
