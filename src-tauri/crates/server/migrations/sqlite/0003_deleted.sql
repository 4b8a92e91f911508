-- A deleted recording keeps its row as a tombstone, so clients syncing by `updated_since`
-- learn of the deletion; its files are removed from disk.
ALTER TABLE recordings ADD COLUMN deleted_ms INTEGER;
