-- Text search in time order stops at a full page instead of reading every match: the trigram
-- index's rowid becomes the row's place in time order, `time_key`, so the index itself yields
-- matches newest (or oldest) first.
--
-- time_key = start_ms * 2^20 + the row's rank among rows with the same start_ms (by id here; new
-- rows take the next free rank), unique and ordered like (start_ms, rank).
ALTER TABLE recordings ADD COLUMN time_key INTEGER;

UPDATE recordings SET time_key = ranked.key
FROM (SELECT id, start_ms * 1048576 + row_number() OVER (PARTITION BY start_ms ORDER BY id) - 1
        AS key FROM recordings) AS ranked
WHERE recordings.id = ranked.id;

CREATE UNIQUE INDEX recordings_by_time_key ON recordings (time_key);

DROP TRIGGER recordings_fts_insert;
DROP TRIGGER recordings_fts_delete;
DROP TRIGGER recordings_fts_update;
DROP TABLE recordings_fts;

-- columnsize=0: nothing ranks by column length, so the per-row sizes are not kept.
CREATE VIRTUAL TABLE recordings_fts USING fts5(
    stream_code, room_id, user_id, file_name, tags, record_id,
    content = 'recordings', content_rowid = 'time_key', tokenize = 'trigram', columnsize = 0
);

INSERT INTO recordings_fts (recordings_fts) VALUES ('rebuild');

CREATE TRIGGER recordings_fts_insert AFTER INSERT ON recordings BEGIN
    INSERT INTO recordings_fts (rowid, stream_code, room_id, user_id, file_name, tags, record_id)
    VALUES (new.time_key, new.stream_code, new.room_id, new.user_id, new.file_name, new.tags,
        new.record_id);
END;

CREATE TRIGGER recordings_fts_delete AFTER DELETE ON recordings BEGIN
    INSERT INTO recordings_fts (recordings_fts, rowid, stream_code, room_id, user_id, file_name,
        tags, record_id)
    VALUES ('delete', old.time_key, old.stream_code, old.room_id, old.user_id, old.file_name,
        old.tags, old.record_id);
END;

CREATE TRIGGER recordings_fts_update
AFTER UPDATE OF stream_code, room_id, user_id, file_name, tags, record_id, time_key
ON recordings BEGIN
    INSERT INTO recordings_fts (recordings_fts, rowid, stream_code, room_id, user_id, file_name,
        tags, record_id)
    VALUES ('delete', old.time_key, old.stream_code, old.room_id, old.user_id, old.file_name,
        old.tags, old.record_id);
    INSERT INTO recordings_fts (rowid, stream_code, room_id, user_id, file_name, tags, record_id)
    VALUES (new.time_key, new.stream_code, new.room_id, new.user_id, new.file_name, new.tags,
        new.record_id);
END;
