-- The server's `missing`: the file was not on its disk when it last started. The next sync
-- starts over so that every cached row gets it.
ALTER TABLE recordings ADD COLUMN missing INTEGER NOT NULL DEFAULT 0;
UPDATE servers SET sync_cursor = NULL;
