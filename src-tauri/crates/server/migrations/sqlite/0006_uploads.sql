-- Where a recording's files are: NULL on this server's disk, 'bucket' once uploaded to the
-- object store and verified there.
ALTER TABLE recordings ADD COLUMN stored TEXT;

-- The durable upload queue (when a bucket is configured), written in the same transaction as
-- the file's row. The local copy is removed only once the bucket's copy is verified (state
-- 'verified'); a file's callback waits in the outbox as 'held' until then, so its video_url
-- points at the bucket.
CREATE TABLE uploads (
    file_id          TEXT PRIMARY KEY REFERENCES recordings (file_id),
    state            TEXT NOT NULL,      -- pending | verified | done | dropped
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms  INTEGER NOT NULL,
    last_error       TEXT,
    created_ms       INTEGER NOT NULL,
    done_ms          INTEGER
);
CREATE INDEX uploads_due ON uploads (state, next_attempt_ms);
