CREATE TABLE rooms (
    room_id     TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT NOT NULL,          -- multi | two_person
    created_ms  BIGINT NOT NULL
);

CREATE TABLE members (
    room_id     TEXT COLLATE "C" NOT NULL REFERENCES rooms (room_id),
    user_id     TEXT COLLATE "C" NOT NULL,
    joined_ms   BIGINT NOT NULL,
    left_ms     BIGINT,                 -- set when the member leaves
    PRIMARY KEY (room_id, user_id)
);
