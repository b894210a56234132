-- v2: items get a price. Added nullable, backfilled, checked for 100 % coverage, then made required
-- (the seeds' expand-backfill-verify order).
ALTER TABLE items ADD COLUMN price_cents integer;

UPDATE items SET price_cents = 0 WHERE price_cents IS NULL;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM items WHERE price_cents IS NULL) THEN
    RAISE EXCEPTION 'backfill incomplete: some items have no price_cents';
  END IF;
END
$$;

ALTER TABLE items ALTER COLUMN price_cents SET DEFAULT 0, ALTER COLUMN price_cents SET NOT NULL;
