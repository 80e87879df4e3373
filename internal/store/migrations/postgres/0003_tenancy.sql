-- Customers, technicians' scopes, two-factor login and the audit chain
-- (PostgreSQL). Keep in step with ../sqlite/0003_tenancy.sql. Booleans are
-- INTEGER 0/1 as in SQLite, so that one SQL text serves both.

ALTER TABLE clients ADD COLUMN contact_name  TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN contact_email TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN contact_phone TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN report_lang   TEXT NOT NULL DEFAULT 'de';
-- Deleted clients and sites are kept (their devices are retired, never
-- orphaned) but hidden; the name is freed for reuse.
ALTER TABLE clients ADD COLUMN deleted_at BIGINT;
ALTER TABLE sites   ADD COLUMN deleted_at BIGINT;

ALTER TABLE devices ADD COLUMN retired_at BIGINT;
CREATE TABLE device_tags (
    device_id BIGINT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    tag       TEXT   NOT NULL,
    PRIMARY KEY (device_id, tag)
);
CREATE INDEX device_tags_tag ON device_tags (tag);

-- restricted = 0: the user sees every client; 1: only those in user_clients.
ALTER TABLE users ADD COLUMN restricted     INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_secret    TEXT    NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_enabled   INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT  NOT NULL DEFAULT 0; -- refuses a code's replay
CREATE TABLE user_clients (
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    PRIMARY KEY (user_id, client_id)
);
CREATE TABLE recovery_codes (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash    BYTEA  NOT NULL,
    used_at BIGINT,
    PRIMARY KEY (user_id, hash)
);

ALTER TABLE api_tokens ADD COLUMN role       TEXT    NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN restricted INTEGER NOT NULL DEFAULT 0;
CREATE TABLE api_token_clients (
    token_id  BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    client_id BIGINT NOT NULL REFERENCES clients (id),
    PRIMARY KEY (token_id, client_id)
);

-- Entries written before this migration have an empty hash and are not
-- part of the chain.
ALTER TABLE audit_log ADD COLUMN remote    TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN result    TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN prev_hash BYTEA NOT NULL DEFAULT ''::bytea;
ALTER TABLE audit_log ADD COLUMN hash      BYTEA NOT NULL DEFAULT ''::bytea;
