-- Set when startup reconcile finds a row whose file is gone from disk: the row is kept and
-- marked (a restored backup may bring the file back), never silently dropped.
ALTER TABLE recordings ADD COLUMN missing_ms INTEGER;
