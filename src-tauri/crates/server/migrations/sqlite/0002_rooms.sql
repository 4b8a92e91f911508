CREATE TABLE rooms (
    room_id     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,          -- multi | two_person
    created_ms  INTEGER NOT NULL
);

CREATE TABLE members (
    room_id     TEXT NOT NULL REFERENCES rooms (room_id),
    user_id     TEXT NOT NULL,
    joined_ms   INTEGER NOT NULL,
    left_ms     INTEGER,                -- set when the member leaves
    PRIMARY KEY (room_id, user_id)
);
