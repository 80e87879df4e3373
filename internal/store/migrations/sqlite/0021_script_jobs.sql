-- Script jobs and their runs (SQLite). Keep in step with
-- ../postgres/0021_script_jobs.sql. A job runs one script version on many
-- devices; each device gets one run, whose ID is the run ID the agent
-- journals so that it runs at most once. A node claims a queued run with
-- a conditional UPDATE before it sends it, so that it is sent once.
CREATE TABLE script_jobs (
    id             INTEGER PRIMARY KEY,
    script_id      BIGINT  NOT NULL REFERENCES scripts (id),
    script_version INTEGER NOT NULL,
    params         TEXT    NOT NULL DEFAULT '{}', -- JSON object of the plain parameters
    secret_names   TEXT    NOT NULL DEFAULT '[]', -- JSON array; the values are in sealed
    sealed         BLOB,                         -- seal.Box of the secret values (JSON), NULL without
    target         TEXT    NOT NULL DEFAULT '',   -- what was asked for: devices, site, client or tag
    created_by     TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL
);

CREATE TABLE script_runs (
    id          TEXT    PRIMARY KEY, -- UUID, the agent's run ID
    job_id      BIGINT  NOT NULL REFERENCES script_jobs (id) ON DELETE CASCADE,
    device_id   BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    state       TEXT    NOT NULL,    -- queued, running, done, failed, expired, interrupted, cancelled
    attempts    INTEGER NOT NULL DEFAULT 0,
    exit_code   INTEGER,
    stdout      TEXT    NOT NULL DEFAULT '',
    stderr      TEXT    NOT NULL DEFAULT '',
    truncated   INTEGER NOT NULL DEFAULT 0,
    timed_out   INTEGER NOT NULL DEFAULT 0,
    duration_ms BIGINT  NOT NULL DEFAULT 0,
    error_code  TEXT    NOT NULL DEFAULT '',
    error_en    TEXT    NOT NULL DEFAULT '',
    error_de    TEXT    NOT NULL DEFAULT '',
    queued_at   BIGINT  NOT NULL,
    started_at  BIGINT,
    finished_at BIGINT,
    deadline_at BIGINT,  -- a running run not finished by then is asked for again
    mac         BLOB        -- the server's MAC over the run (service.runMAC): a row written by anyone else is refused
);
CREATE INDEX script_runs_job ON script_runs (job_id);
CREATE INDEX script_runs_device ON script_runs (device_id, queued_at);
CREATE INDEX script_runs_state ON script_runs (state, device_id);
