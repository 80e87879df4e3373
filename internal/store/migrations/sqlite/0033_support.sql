-- The tray app (issue 20; sqlite). Keep in step with
-- ../postgres/0033_support.sql.
-- client_branding is each client's core.Branding; no row is the default
-- tray. show is 0/1; icon is the PNG (NULL without one) and icon_sha256 its
-- hex SHA-256 ('' without one).
-- support_requests are the users' requests from the tray, stored once per
-- (device_id, ref) (the agent resends until acknowledged). client_id is the
-- device's client at receipt, so that moving the device later does not
-- change whose request it was; the lists filter by it and by state, newest
-- received first. The screenshot (PNG, NULL without one) is the last
-- column: SQLite then reads every other column of a row without walking
-- the screenshot's overflow pages, and lists never read it.
-- support_replies are the technicians' answers, shown back in the tray.
-- Done requests are deleted after the history's rollup period
-- (retention.go); their replies go with them.
CREATE TABLE client_branding (
    client_id      BIGINT  PRIMARY KEY REFERENCES clients (id) ON DELETE CASCADE,
    show           INTEGER NOT NULL,
    product_name   TEXT    NOT NULL DEFAULT '',
    phone          TEXT    NOT NULL DEFAULT '',
    email          TEXT    NOT NULL DEFAULT '',
    url            TEXT    NOT NULL DEFAULT '',
    hours_en       TEXT    NOT NULL DEFAULT '',
    hours_de       TEXT    NOT NULL DEFAULT '',
    remote_support TEXT    NOT NULL DEFAULT '',
    icon_sha256    TEXT    NOT NULL DEFAULT '',
    updated_at     BIGINT  NOT NULL,
    updated_by     TEXT    NOT NULL DEFAULT '',
    icon           BLOB
);

CREATE TABLE support_requests (
    id            INTEGER PRIMARY KEY,
    device_id     BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    client_id     BIGINT  NOT NULL REFERENCES clients (id),
    ref           TEXT    NOT NULL,
    os_user       TEXT    NOT NULL DEFAULT '',
    contact_name  TEXT    NOT NULL DEFAULT '',
    contact_email TEXT    NOT NULL DEFAULT '',
    contact_phone TEXT    NOT NULL DEFAULT '',
    lang          TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    received_at   BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    message       TEXT    NOT NULL DEFAULT '',
    screenshot    BLOB,
    UNIQUE (device_id, ref)
);
CREATE INDEX support_requests_client ON support_requests (client_id, received_at);
CREATE INDEX support_requests_client_state ON support_requests (client_id, state, received_at);
CREATE INDEX support_requests_state ON support_requests (state, received_at);
CREATE INDEX support_requests_device ON support_requests (device_id, received_at);
CREATE INDEX support_requests_received ON support_requests (received_at);

CREATE TABLE support_replies (
    id         INTEGER PRIMARY KEY,
    request_id BIGINT  NOT NULL REFERENCES support_requests (id) ON DELETE CASCADE,
    author     TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX support_replies_request ON support_replies (request_id, created_at);
