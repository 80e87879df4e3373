-- The script library (SQLite). Keep in step with ../postgres/0020_scripts.sql.
-- A script's content lives in script_versions: every edit adds a version
-- and scripts.version names the current one; runs name the version they
-- ran, so a deleted script keeps its versions (deleted_at set).
CREATE TABLE scripts (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    builtin    TEXT    UNIQUE, -- NULL for the users' own scripts
    version    INTEGER NOT NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX scripts_name ON scripts (name) WHERE deleted_at IS NULL;

CREATE TABLE script_versions (
    script_id       BIGINT  NOT NULL REFERENCES scripts (id) ON DELETE CASCADE,
    version         INTEGER NOT NULL,
    description_en  TEXT    NOT NULL DEFAULT '',
    description_de  TEXT    NOT NULL DEFAULT '',
    language        TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    params          TEXT    NOT NULL DEFAULT '[]', -- JSON array of core.ScriptParam
    timeout_seconds INTEGER NOT NULL,
    run_as          TEXT    NOT NULL,
    os              TEXT    NOT NULL DEFAULT '[]', -- JSON array of GOOS names
    signature       TEXT    NOT NULL DEFAULT '',   -- lock mode (scriptsign), base64
    created_by      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (script_id, version)
);
