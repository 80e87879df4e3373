-- Alerting (SQLite): per-check alert state, outages, device presence, the
-- notification recipients and the persistent outbox. Keep in step with
-- ../postgres/0004_alerts.sql.

-- alert_state is the engine's memory of one check: what it last decided,
-- the consecutive non-passing count, the open outage, suppression by a
-- technician (clear) and recent state changes for flapping detection.
CREATE TABLE alert_state (
    check_id         BIGINT  PRIMARY KEY REFERENCES checks (id) ON DELETE CASCADE,
    state            TEXT    NOT NULL DEFAULT 'ok', -- ok, warning, soft, failure
    consecutive      INTEGER NOT NULL DEFAULT 0,
    outage_ref       TEXT    NOT NULL DEFAULT '', -- the open outage, if any
    cleared_until    BIGINT,                        -- suppress notifications until
    clear_until_pass INTEGER NOT NULL DEFAULT 0,    -- suppress until the check passes
    changes          TEXT    NOT NULL DEFAULT '',   -- recent change times, ms, comma separated
    flapping         INTEGER NOT NULL DEFAULT 0,
    last_at          BIGINT  NOT NULL DEFAULT 0     -- newest result evaluated
);

-- An outage is a period in which a check failed (kind 'check') or a device
-- was away (kind 'offline'). ref is chosen by the engine and names the
-- outage in outbox dedupe keys.
CREATE TABLE outages (
    id          INTEGER PRIMARY KEY,
    ref         TEXT    NOT NULL UNIQUE,
    device_id   BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    check_id    BIGINT  REFERENCES checks (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    check_name  TEXT    NOT NULL DEFAULT '',
    check_key   TEXT    NOT NULL DEFAULT '',
    severity    TEXT    NOT NULL,
    value       DOUBLE PRECISION,
    unit        TEXT    NOT NULL DEFAULT '',
    message_en  TEXT    NOT NULL DEFAULT '',
    message_de  TEXT    NOT NULL DEFAULT '',
    opened_at   BIGINT  NOT NULL,
    closed_at   BIGINT,
    notified    INTEGER NOT NULL DEFAULT 0,
    acked_at    BIGINT,
    acked_by    TEXT    NOT NULL DEFAULT '',
    ack_comment TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outages_open ON outages (closed_at, opened_at);
CREATE INDEX outages_device ON outages (device_id, opened_at);

-- device_presence records an announced goodbye and the open offline outage.
CREATE TABLE device_presence (
    device_id      BIGINT  PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    goodbye_reason TEXT    NOT NULL DEFAULT '',
    goodbye_at     BIGINT,
    outage_ref     TEXT    NOT NULL DEFAULT ''
);

-- Recipients at the default (target_id 0), client, site or device level.
CREATE TABLE alert_recipients (
    id        INTEGER PRIMARY KEY,
    level     TEXT    NOT NULL,
    target_id BIGINT  NOT NULL DEFAULT 0,
    channel   TEXT    NOT NULL, -- email, webhook
    target    TEXT    NOT NULL, -- address or URL
    lang      TEXT    NOT NULL DEFAULT 'en',
    hours     TEXT    NOT NULL DEFAULT 'always', -- always, office, after
    format    TEXT    NOT NULL DEFAULT '',       -- webhook: json, chat
    secret    TEXT    NOT NULL DEFAULT '',       -- webhook HMAC key
    created_at BIGINT NOT NULL
);
CREATE INDEX alert_recipients_level ON alert_recipients (level, target_id);

-- The outbox: one row per message to one recipient, inserted in the same
-- transaction as the outage change it reports. dedupe_key makes a second
-- insert of the same message a no-op.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    dedupe_key      TEXT    NOT NULL UNIQUE,
    channel         TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      BIGINT  NOT NULL
);
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);
