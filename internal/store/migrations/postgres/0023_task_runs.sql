-- Runs of automated tasks as the agents report them (issue 16; postgres).
-- Keep in step with ../sqlite/0023_task_runs.sql. Not check results: a run is
-- stored once per (device, run_id) (the agent names each occurrence), so a
-- re-sent batch adds nothing; fix_check names the check a fix was for.
CREATE TABLE task_runs (
    device_id      BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    run_id         TEXT    NOT NULL,
    task_name      TEXT    NOT NULL,
    run_trigger    TEXT    NOT NULL, -- schedule, start, fix
    script_id      BIGINT  NOT NULL,
    script_version INTEGER NOT NULL,
    state          TEXT    NOT NULL, -- done, failed, interrupted
    exit_code      INTEGER,
    stdout         TEXT    NOT NULL DEFAULT '',
    stderr         TEXT    NOT NULL DEFAULT '',
    truncated      INTEGER NOT NULL DEFAULT 0,
    timed_out      INTEGER NOT NULL DEFAULT 0,
    duration_ms    BIGINT  NOT NULL DEFAULT 0,
    error_code     TEXT    NOT NULL DEFAULT '',
    due_at         BIGINT,
    started_at     BIGINT  NOT NULL,
    fix_check      TEXT    NOT NULL DEFAULT '',
    fix_status     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (device_id, run_id)
);
CREATE INDEX task_runs_started ON task_runs (device_id, started_at);
CREATE INDEX task_runs_fix ON task_runs (device_id, fix_check, started_at);
