-- Maintenance windows (SQLite). Keep in step with
-- ../postgres/0007_maintenance.sql. A window's scope is a client, a site or a
-- device (target_id); while one covering a device is active its results
-- are recorded but nothing is notified (internal/alert).
CREATE TABLE maintenance (
    id         INTEGER PRIMARY KEY,
    scope      TEXT    NOT NULL, -- client, site, device
    target_id  BIGINT  NOT NULL,
    title      TEXT    NOT NULL,
    starts_at  BIGINT  NOT NULL, -- ms; a recurring window applies from here
    ends_at    BIGINT,           -- one-off windows
    repeat     TEXT    NOT NULL DEFAULT '', -- '', daily, weekly, monthly
    weekdays   TEXT    NOT NULL DEFAULT '', -- weekly: comma-separated, 0 = Sunday
    month_day  INTEGER NOT NULL DEFAULT 0,
    from_hm    TEXT    NOT NULL DEFAULT '', -- HH:MM local
    to_hm      TEXT    NOT NULL DEFAULT '',
    timezone   TEXT    NOT NULL DEFAULT '',
    until_at   BIGINT,                      -- the recurrence ends
    created_by TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL
);
CREATE INDEX maintenance_target ON maintenance (scope, target_id);

-- held: a maintenance window held back the outage's opening message; it
-- is sent when the window ends if the outage is still open.
ALTER TABLE outages ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
