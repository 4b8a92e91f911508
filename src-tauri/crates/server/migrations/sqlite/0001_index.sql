-- One row per recorded file. A file is indexed only after it is durable on disk
-- (temp name, fsync, rename, fsync dir: see docs/design.md).
CREATE TABLE recordings (
    file_id         TEXT PRIMARY KEY,
    video_id        TEXT NOT NULL,
    record_file_id  TEXT NOT NULL,
    stream_code     TEXT NOT NULL,
    channel_id      TEXT NOT NULL,
    app             TEXT NOT NULL,
    room_id         TEXT NOT NULL DEFAULT '',
    user_id         TEXT NOT NULL DEFAULT '',
    record_id       TEXT NOT NULL DEFAULT '',
    file_name       TEXT NOT NULL DEFAULT '',
    tags            TEXT NOT NULL DEFAULT '[]',  -- JSON array
    format          TEXT NOT NULL,
    rel_path        TEXT NOT NULL UNIQUE,        -- below <data>, '/'-separated
    stream_param    TEXT NOT NULL DEFAULT '',
    size            INTEGER NOT NULL,
    start_ms        INTEGER NOT NULL,
    end_ms          INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    video_codec     TEXT,
    audio_codec     TEXT,
    width           INTEGER,
    height          INTEGER,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    callback_state  TEXT NOT NULL,
    recovered       INTEGER NOT NULL DEFAULT 0,
    -- The seed's query key `<stream code>_<record id>`, searched by prefix.
    prefix_key      TEXT GENERATED ALWAYS AS (stream_code || '_' || record_id) VIRTUAL
);
CREATE INDEX recordings_by_prefix_key ON recordings (prefix_key);
CREATE INDEX recordings_by_start ON recordings (start_ms, file_id);
CREATE INDEX recordings_by_updated ON recordings (updated_ms, file_id);
CREATE INDEX recordings_by_file_name ON recordings (file_name);
CREATE INDEX recordings_by_room_user ON recordings (room_id, user_id);

-- The durable callback outbox: written in the same transaction as the file's row.
CREATE TABLE callbacks (
    id               INTEGER PRIMARY KEY,
    file_id          TEXT REFERENCES recordings (file_id),
    event_type       INTEGER NOT NULL,
    body             TEXT NOT NULL,      -- JSON without `t` and `sign` (set per attempt)
    state            TEXT NOT NULL,      -- pending | delivered | gave_up
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    created_ms       INTEGER NOT NULL
);
CREATE INDEX callbacks_due ON callbacks (state, next_attempt_ms);
CREATE INDEX callbacks_by_file ON callbacks (file_id);

CREATE TABLE callback_attempts (
    id           INTEGER PRIMARY KEY,
    callback_id  INTEGER NOT NULL REFERENCES callbacks (id),
    attempt      INTEGER NOT NULL,
    at_ms        INTEGER NOT NULL,
    status       INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL
);
CREATE INDEX callback_attempts_by_callback ON callback_attempts (callback_id);
