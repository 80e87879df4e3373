-- Signed agent builds, installers and rollouts (issue 21; sqlite).
-- Keep in step with ../postgres/0035_releases.sql.
-- agent_files are the uploaded release files (core.AgentFile): one per
-- kind, OS, architecture and version. The file itself is the blob sha256
-- (hex) of the server's blob store; signed is its release.Signed as JSON,
-- the last column so that lists of rows read past it cheaply. Versions
-- order by internal/vercmp, not by SQL: the store sorts them in Go.
-- rollouts are core.Rollout; pilot_clients is a JSON array of client IDs;
-- the booleans are 0/1. rollouts_one_active lets at most one rollout be
-- running or paused (its expression is true for every row it holds).
-- agent_updates are each device's outcome of a rollout; a deleted device
-- takes its rows along.
CREATE TABLE agent_files (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    os          TEXT    NOT NULL,
    arch        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    key_id      TEXT    NOT NULL DEFAULT '',
    uploaded_at BIGINT  NOT NULL,
    uploaded_by TEXT    NOT NULL DEFAULT '',
    signed      BLOB    NOT NULL,
    UNIQUE (kind, os, arch, version)
);
CREATE INDEX agent_files_sha256 ON agent_files (sha256);
CREATE INDEX agent_files_version ON agent_files (version);

CREATE TABLE rollouts (
    id               INTEGER PRIMARY KEY,
    version          TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    stage            TEXT    NOT NULL,
    pilot_clients    TEXT    NOT NULL DEFAULT '[]',
    pilot_percent    INTEGER NOT NULL DEFAULT 0,
    auto_promote     INTEGER NOT NULL DEFAULT 0,
    allow_downgrade  INTEGER NOT NULL DEFAULT 0,
    max_failures     INTEGER NOT NULL,
    watchdog_seconds INTEGER NOT NULL,
    concurrency      INTEGER NOT NULL,
    pause_reason_en  TEXT    NOT NULL DEFAULT '',
    pause_reason_de  TEXT    NOT NULL DEFAULT '',
    created_by       TEXT    NOT NULL DEFAULT '',
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    finished_at      BIGINT
);
CREATE UNIQUE INDEX rollouts_one_active ON rollouts ((state = 'running' OR state = 'paused'))
    WHERE state = 'running' OR state = 'paused';
CREATE INDEX rollouts_created ON rollouts (created_at);

CREATE TABLE agent_updates (
    rollout_id   BIGINT  NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    device_id    BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    from_version TEXT    NOT NULL DEFAULT '',
    to_version   TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    code         TEXT    NOT NULL DEFAULT '',
    error_en     TEXT    NOT NULL DEFAULT '',
    error_de     TEXT    NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    sent_at      BIGINT  NOT NULL,
    finished_at  BIGINT,
    PRIMARY KEY (rollout_id, device_id)
);
CREATE INDEX agent_updates_device ON agent_updates (device_id);
