-- The console's local cache of recordings, one row per file per server.
CREATE TABLE servers (
    id            INTEGER PRIMARY KEY,
    url           TEXT NOT NULL UNIQUE,
    last_sync_ms  INTEGER,           -- when a sync last completed
    sync_cursor   TEXT               -- the server's updated-since cursor to resume from
);

CREATE TABLE recordings (
    id              INTEGER PRIMARY KEY,  -- local rowid, also the FTS rowid
    server_id       INTEGER NOT NULL REFERENCES servers(id),
    file_id         TEXT NOT NULL,
    video_id        TEXT NOT NULL DEFAULT '',
    record_file_id  TEXT NOT NULL DEFAULT '',
    stream_code     TEXT NOT NULL,
    channel_id      TEXT NOT NULL DEFAULT '',
    room_id         TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',
    record_id       TEXT NOT NULL DEFAULT '',
    file_name       TEXT NOT NULL DEFAULT '',
    tags            TEXT NOT NULL DEFAULT '',   -- space-separated, for search and display
    format          TEXT NOT NULL,              -- flv | hls | mp4
    url             TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    start_ms        INTEGER NOT NULL,
    end_ms          INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    video_codec     TEXT,
    audio_codec     TEXT,
    width           INTEGER,
    height          INTEGER,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    callback_state  TEXT NOT NULL DEFAULT 'pending',
    deleted         INTEGER NOT NULL DEFAULT 0,
    download_state  TEXT NOT NULL DEFAULT 'none', -- none | partial | done | failed
    download_path   TEXT,
    downloaded_bytes INTEGER NOT NULL DEFAULT 0,
    -- The seed's query key: `<stream code>_<record id>`, searched by prefix.
    prefix_key      TEXT GENERATED ALWAYS AS (stream_code || '_' || record_id) VIRTUAL,
    UNIQUE (server_id, file_id)
);

CREATE INDEX recordings_by_start ON recordings (start_ms DESC, id DESC);
CREATE INDEX recordings_by_format_start ON recordings (format, start_ms DESC);
CREATE INDEX recordings_by_room_start ON recordings (room_id, start_ms DESC);
CREATE INDEX recordings_by_prefix_key ON recordings (prefix_key);
CREATE INDEX recordings_by_file_name ON recordings (file_name);

-- Substring search (Latin and Chinese alike) over what support staff type.
CREATE VIRTUAL TABLE recordings_fts USING fts5(
    stream_code, room_id, user_id, file_name, tags, record_id,
    content = 'recordings', content_rowid = 'id', tokenize = 'trigram'
);

CREATE TRIGGER recordings_fts_insert AFTER INSERT ON recordings BEGIN
    INSERT INTO recordings_fts (rowid, stream_code, room_id, user_id, file_name, tags, record_id)
    VALUES (new.id, new.stream_code, new.room_id, new.user_id, new.file_name, new.tags, new.record_id);
END;

CREATE TRIGGER recordings_fts_delete AFTER DELETE ON recordings BEGIN
    INSERT INTO recordings_fts (recordings_fts, rowid, stream_code, room_id, user_id, file_name, tags, record_id)
    VALUES ('delete', old.id, old.stream_code, old.room_id, old.user_id, old.file_name, old.tags, old.record_id);
END;

CREATE TRIGGER recordings_fts_update AFTER UPDATE OF stream_code, room_id, user_id, file_name, tags, record_id
ON recordings BEGIN
    INSERT INTO recordings_fts (recordings_fts, rowid, stream_code, room_id, user_id, file_name, tags, record_id)
    VALUES ('delete', old.id, old.stream_code, old.room_id, old.user_id, old.file_name, old.tags, old.record_id);
    INSERT INTO recordings_fts (rowid, stream_code, room_id, user_id, file_name, tags, record_id)
    VALUES (new.id, new.stream_code, new.room_id, new.user_id, new.file_name, new.tags, new.record_id);
END;
