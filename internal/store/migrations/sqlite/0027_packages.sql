-- Software package definitions (issue 17). Keep in step with ../postgres/0027_packages.sql.
-- The command lines, parameters, exit codes and detection rule are JSON
-- (core.Package); secret parameters' values are only in sealed, never in
-- params. An uploaded installer is the blob sha256 in <data>/blobs.
CREATE TABLE packages (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT    NOT NULL,
    version              TEXT    NOT NULL,
    os                   TEXT    NOT NULL,
    arch                 TEXT    NOT NULL DEFAULT '',
    kind                 TEXT    NOT NULL,
    manager_id           TEXT    NOT NULL DEFAULT '',
    install              TEXT    NOT NULL DEFAULT '[]',
    uninstall            TEXT    NOT NULL DEFAULT '[]',
    params               TEXT    NOT NULL DEFAULT '[]',
    exit_codes           TEXT    NOT NULL DEFAULT '{}',
    detection            TEXT    NOT NULL DEFAULT '{}',
    require_authenticode INTEGER NOT NULL DEFAULT 0,
    timeout_seconds      INTEGER NOT NULL,
    sha256               TEXT    NOT NULL DEFAULT '',
    size                 BIGINT  NOT NULL DEFAULT 0,
    file_name            TEXT    NOT NULL DEFAULT '',
    sealed               BLOB    NOT NULL,      -- AES-256-GCM sealed secret parameters
    created_at           BIGINT  NOT NULL,
    updated_at           BIGINT  NOT NULL,
    updated_by           TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX packages_identity ON packages (name, version, os, arch);
CREATE INDEX packages_sha256 ON packages (sha256) WHERE sha256 <> '';
