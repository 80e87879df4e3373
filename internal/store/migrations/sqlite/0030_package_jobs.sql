-- Package deployments as jobs (issue 17; sqlite). Keep in step with
-- ../postgres/0030_package_jobs.sql. A job runs a script version
-- (action 'script') or installs or removes a package (action
-- 'package_install' or 'package_uninstall'); then script_id is NULL and
-- the job names the package, keeps its name and version for the record
-- and binds the package's MAC at queueing (a package changed since is
-- refused). A run keeps the package outcome; a run the installer asked to
-- retry (1618) waits until not_before and is sent as a new agent run
-- (retries counts them: the agent's run ID is the run's ID plus -rN).
--
-- SQLite cannot drop NOT NULL, so both tables are rebuilt. This runs in
-- the migration transaction with foreign_keys on (PRAGMA foreign_keys
-- cannot change there): the new runs table references script_jobs_new,
-- so dropping the old runs table and then the old jobs table (childless
-- by then) deletes nothing by cascade; renaming script_jobs_new rewrites
-- that reference to script_jobs.
CREATE TABLE script_jobs_new (
    id              INTEGER PRIMARY KEY,
    script_id       BIGINT  REFERENCES scripts (id), -- NULL for a package job
    script_version  INTEGER NOT NULL,
    params          TEXT    NOT NULL DEFAULT '{}',
    secret_names    TEXT    NOT NULL DEFAULT '[]',
    sealed          BLOB,
    target          TEXT    NOT NULL DEFAULT '',
    created_by      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    action          TEXT    NOT NULL DEFAULT 'script',
    package_id      BIGINT,                        -- no reference: the job outlives its package
    package_name    TEXT    NOT NULL DEFAULT '',
    package_version TEXT    NOT NULL DEFAULT '',
    package_mac     BLOB,                          -- the package's MAC when the job was queued
    timeout_seconds INTEGER NOT NULL DEFAULT 0     -- a package job's timeout (a script's is its version's)
);
INSERT INTO script_jobs_new (id, script_id, script_version, params, secret_names, sealed, target, created_by, created_at, expires_at)
    SELECT id, script_id, script_version, params, secret_names, sealed, target, created_by, created_at, expires_at FROM script_jobs;

CREATE TABLE script_runs_new (
    id            TEXT    PRIMARY KEY,
    job_id        BIGINT  NOT NULL REFERENCES script_jobs_new (id) ON DELETE CASCADE,
    device_id     BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    state         TEXT    NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    exit_code     INTEGER,
    stdout        TEXT    NOT NULL DEFAULT '',
    stderr        TEXT    NOT NULL DEFAULT '',
    truncated     INTEGER NOT NULL DEFAULT 0,
    timed_out     INTEGER NOT NULL DEFAULT 0,
    duration_ms   BIGINT  NOT NULL DEFAULT 0,
    error_code    TEXT    NOT NULL DEFAULT '',
    error_en      TEXT    NOT NULL DEFAULT '',
    error_de      TEXT    NOT NULL DEFAULT '',
    queued_at     BIGINT  NOT NULL,
    started_at    BIGINT,
    finished_at   BIGINT,
    deadline_at   BIGINT,
    mac           BLOB,
    meaning       TEXT    NOT NULL DEFAULT '', -- a package run: core.Exit… of the exit code
    reboot_needed INTEGER NOT NULL DEFAULT 0,
    sw_state      TEXT    NOT NULL DEFAULT '', -- what the detection rule found afterwards
    sw_version    TEXT    NOT NULL DEFAULT '',
    retries       INTEGER NOT NULL DEFAULT 0,
    not_before    BIGINT                       -- a retried run waits until then
);
INSERT INTO script_runs_new (id, job_id, device_id, state, attempts, exit_code, stdout, stderr, truncated, timed_out,
        duration_ms, error_code, error_en, error_de, queued_at, started_at, finished_at, deadline_at, mac)
    SELECT id, job_id, device_id, state, attempts, exit_code, stdout, stderr, truncated, timed_out,
        duration_ms, error_code, error_en, error_de, queued_at, started_at, finished_at, deadline_at, mac FROM script_runs;

DROP TABLE script_runs;
DROP TABLE script_jobs;
ALTER TABLE script_jobs_new RENAME TO script_jobs;
ALTER TABLE script_runs_new RENAME TO script_runs;
CREATE INDEX script_jobs_package ON script_jobs (package_id);
CREATE INDEX script_runs_job ON script_runs (job_id);
CREATE INDEX script_runs_device ON script_runs (device_id, queued_at);
CREATE INDEX script_runs_state ON script_runs (state, device_id);
