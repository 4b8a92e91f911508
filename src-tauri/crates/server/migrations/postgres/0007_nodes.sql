-- Several servers ("nodes") may share one index (PostgreSQL). Each has its own data dir; the
-- rows, callbacks and uploads of files on a node's disk name that node, so that it alone
-- reconciles, uploads and calls back for them, or whoever adopts it once it is gone. Rows from
-- before nodes existed have '' and go to the first node that starts.
CREATE TABLE nodes (
    node_id     TEXT COLLATE "C" PRIMARY KEY,
    lane        BIGINT NOT NULL UNIQUE,    -- its share of the file id space (media/src/ids.rs)
    data_dir    TEXT NOT NULL,             -- where its files are, as it sees it
    started_ms  BIGINT NOT NULL,           -- its last start; a change tells an adopter it is back
    base_url    TEXT NOT NULL,             -- where its API and /vod answer
    adopted_by  TEXT COLLATE "C"           -- the node finishing its work while it is gone
);
ALTER TABLE recordings ADD COLUMN node TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE callbacks ADD COLUMN node TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE uploads ADD COLUMN node TEXT COLLATE "C" NOT NULL DEFAULT '';
CREATE INDEX recordings_by_node ON recordings (node, deleted_ms);
CREATE INDEX callbacks_by_node ON callbacks (node, state, next_attempt_ms);
CREATE INDEX uploads_by_node ON uploads (node, state, next_attempt_ms);

-- Keys every node must share: the key that signs download links, so that a link one node gives
-- out opens on any other.
CREATE TABLE shared_keys (
    name   TEXT COLLATE "C" PRIMARY KEY,
    value  TEXT NOT NULL
);
