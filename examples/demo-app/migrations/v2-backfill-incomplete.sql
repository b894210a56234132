-- v2-backfill-incomplete: the "backfill-incomplete" scenario. Items get a SKU, but the backfill stops after
-- the first two: the migration exits 0 with NULLs left, which only the after-migrations SQL gate
-- (examples/rehearsal/runbook.json, checks.sql "every item has a sku") notices.
ALTER TABLE items ADD COLUMN sku text;

UPDATE items SET sku = 'SKU-' || id WHERE id <= 2;
