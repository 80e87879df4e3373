-- terminal_recordings: one recorded terminal session (asciicast v2, issue
-- 15), kept in the database so that every node of a cluster can replay it.
-- The content is in recording_chunks: each chunk a gzip member, so that
-- the chunks in seq order are one gzip stream of the .cast file. size is
-- the uncompressed length, stored the compressed one; truncated marks a
-- session that outgrew the cap (store.MaxRecording). ended_at is NULL while
-- the session runs (or when its node died). actor keeps who it was after
-- the user is deleted.
CREATE TABLE terminal_recordings (
    id         INTEGER PRIMARY KEY,
    device_id  BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    user_id    BIGINT  NOT NULL,
    actor      TEXT    NOT NULL,
    shell      TEXT    NOT NULL,
    started_at BIGINT  NOT NULL,
    ended_at   BIGINT,
    size       BIGINT  NOT NULL DEFAULT 0,
    stored     BIGINT  NOT NULL DEFAULT 0,
    truncated  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX terminal_recordings_started ON terminal_recordings (started_at);

CREATE TABLE recording_chunks (
    recording_id BIGINT  NOT NULL REFERENCES terminal_recordings (id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    data         BLOB    NOT NULL,
    PRIMARY KEY (recording_id, seq)
);
