-- A recording's tags as the server gives them, a JSON array: joined with spaces they split a
-- tag like "grade 3" in two. Rows cached before keep their joined text as one tag until the
-- next sync, which starts over to bring every row's exact tags (and `recovered`).
UPDATE recordings SET tags = CASE WHEN tags = '' THEN '[]' ELSE json_array(tags) END;
-- The file was finalized from leftovers after a crash (the server's `recovered`).
ALTER TABLE recordings ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0;
UPDATE servers SET sync_cursor = NULL;
