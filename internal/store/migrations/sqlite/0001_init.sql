-- Initial schema (SQLite). Timestamps are Unix milliseconds (BIGINT); NULL
-- means "never" / "not set". Keep in step with ../postgres/0001_init.sql.

CREATE TABLE clients (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE sites (
    id         INTEGER PRIMARY KEY,
    client_id  BIGINT  NOT NULL REFERENCES clients (id),
    name       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    UNIQUE (client_id, name)
);

CREATE TABLE devices (
    id            INTEGER PRIMARY KEY,
    site_id       BIGINT  NOT NULL REFERENCES sites (id),
    hostname      TEXT    NOT NULL DEFAULT '',
    os            TEXT    NOT NULL DEFAULT '',
    platform      TEXT    NOT NULL DEFAULT '',
    arch          TEXT    NOT NULL DEFAULT '',
    machine_id    TEXT    NOT NULL DEFAULT '',
    public_key    BLOB    NOT NULL,
    role          TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    agent_version TEXT    NOT NULL DEFAULT '',
    enrolled_at   BIGINT  NOT NULL,
    last_seen     BIGINT
);
-- Re-enrollment looks devices up by site and machine id.
CREATE INDEX devices_site_machine ON devices (site_id, machine_id);

CREATE TABLE checks (
    id        INTEGER PRIMARY KEY,
    device_id BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    UNIQUE (device_id, name, key)
);

CREATE TABLE check_results (
    id         TEXT    PRIMARY KEY, -- chosen by the agent (UUID)
    check_id   BIGINT  NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    device_id  BIGINT  NOT NULL, -- denormalized for history by device and time
    status     TEXT    NOT NULL,
    value      DOUBLE PRECISION,
    unit       TEXT    NOT NULL DEFAULT '',
    message_en TEXT    NOT NULL DEFAULT '',
    message_de TEXT    NOT NULL DEFAULT '',
    at         BIGINT  NOT NULL
);
CREATE INDEX check_results_device_at ON check_results (device_id, at);
CREATE INDEX check_results_check_at ON check_results (check_id, at);

CREATE TABLE check_state (
    check_id   BIGINT  PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    status     TEXT    NOT NULL,
    value      DOUBLE PRECISION,
    unit       TEXT    NOT NULL DEFAULT '',
    message_en TEXT    NOT NULL DEFAULT '',
    message_de TEXT    NOT NULL DEFAULT '',
    at         BIGINT  NOT NULL,
    changed_at BIGINT  NOT NULL
);

CREATE TABLE enrollment_tokens (
    id          INTEGER PRIMARY KEY,
    secret_hash BLOB    NOT NULL UNIQUE,
    client_id   BIGINT  NOT NULL REFERENCES clients (id),
    site_id     BIGINT  NOT NULL REFERENCES sites (id),
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT,
    max_uses    INTEGER NOT NULL DEFAULT 0,
    uses        INTEGER NOT NULL DEFAULT 0,
    revoked_at  BIGINT
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE, -- stored lower-cased
    password_hash TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL,
    lang          TEXT    NOT NULL DEFAULT '',
    created_at    BIGINT  NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT    NOT NULL DEFAULT '',
    hash       BLOB    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);

CREATE TABLE sessions (
    hash       BLOB    PRIMARY KEY,
    user_id    BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     BIGINT  NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL DEFAULT '',
    detail TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
