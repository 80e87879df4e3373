-- Daily reports (SQLite): per-client report settings, technicians' digest
-- opt-outs and the record of reports queued per day. Keep in step with
-- ../postgres/0008_reports.sql.

-- A client without a row gets the defaults: enabled, to its contact
-- e-mail, at 07:00. recipients '' also means the contact e-mail.
CREATE TABLE report_settings (
    client_id  BIGINT  PRIMARY KEY REFERENCES clients (id),
    enabled    INTEGER NOT NULL DEFAULT 1,
    recipients TEXT    NOT NULL DEFAULT '', -- addresses, comma separated
    hour       TEXT    NOT NULL DEFAULT '07:00'
);

-- Admins and technicians get the digest unless they are listed here.
CREATE TABLE report_digest_optout (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE
);

-- One row per report queued into the outbox: kind 'client' (target_id is
-- the client) or 'digest' (the user), day the local date of the report's
-- time zone. The primary key is what makes a day's report go out once,
-- across restarts and server nodes.
CREATE TABLE report_runs (
    kind      TEXT   NOT NULL,
    target_id BIGINT NOT NULL,
    day       TEXT   NOT NULL, -- YYYY-MM-DD
    queued_at BIGINT NOT NULL,
    PRIMARY KEY (kind, target_id, day)
);
