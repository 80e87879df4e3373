-- Patch management (issue 19; sqlite). Keep in step with
-- ../postgres/0032_patches.sql.
-- patches holds one row per distinct update of the fleet (by
-- core.Update.Key); severity_rank is core.SeverityRank(severity), which the
-- fleet view filters and orders by; cves is the JSON array of the CVE IDs,
-- and patch_cves the same as rows, so that the fleet view finds the
-- patches of one CVE by index. device_patches is what each device misses
-- now, brought in line with each report (rows of updates missing day after
-- day stay untouched), of devices that are not retired only (retiring
-- deletes them), so that the fleet view aggregates it without reading
-- devices; its index on (patch_id, state, first_seen, device_id) covers
-- the aggregates, also over a list of devices. On SQLite, WITHOUT ROWID
-- clusters its rows by device for the per-client and per-device reads.
-- patch_attempts is every install attempt, stored once by (device, key,
-- start), kept 180 days (retention.go). device_patch_status is each
-- device's last report with the counts the compliance figures read.
-- patch_approvals are the technicians' decisions per patch and client;
-- client_id 0 is every client, so it references no client (clients are
-- only ever marked deleted).
-- policies.patch is a policy's core.PatchPolicy as JSON, NULL for none.
ALTER TABLE policies ADD COLUMN patch TEXT;

CREATE TABLE patches (
    id             INTEGER PRIMARY KEY,
    key            TEXT    NOT NULL UNIQUE,
    source         TEXT    NOT NULL,
    source_id      TEXT    NOT NULL,
    version        TEXT    NOT NULL DEFAULT '',
    title          TEXT    NOT NULL DEFAULT '',
    kb             TEXT    NOT NULL DEFAULT '',
    classification TEXT    NOT NULL DEFAULT '',
    severity       TEXT    NOT NULL DEFAULT '',
    severity_rank  INTEGER NOT NULL DEFAULT 0,
    cves           TEXT    NOT NULL DEFAULT '[]',
    size_bytes     BIGINT  NOT NULL DEFAULT 0,
    reboot         TEXT    NOT NULL DEFAULT '',
    released_at    BIGINT,
    url            TEXT    NOT NULL DEFAULT '',
    product        TEXT    NOT NULL DEFAULT '',
    first_seen     BIGINT  NOT NULL
);
CREATE INDEX patches_first_seen ON patches (first_seen);

CREATE TABLE patch_cves (
    patch_id BIGINT NOT NULL REFERENCES patches (id) ON DELETE CASCADE,
    cve      TEXT   NOT NULL,
    PRIMARY KEY (patch_id, cve)
);
CREATE INDEX patch_cves_cve ON patch_cves (cve);

CREATE TABLE device_patches (
    device_id     BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    patch_id      BIGINT  NOT NULL REFERENCES patches (id) ON DELETE CASCADE,
    installed     TEXT    NOT NULL DEFAULT '',
    first_seen    BIGINT  NOT NULL,
    failures      INTEGER NOT NULL DEFAULT 0,
    stuck         INTEGER NOT NULL DEFAULT 0,
    last_error_en TEXT    NOT NULL DEFAULT '',
    last_error_de TEXT    NOT NULL DEFAULT '',
    state         TEXT    NOT NULL,
    PRIMARY KEY (device_id, patch_id)
) WITHOUT ROWID;
CREATE INDEX device_patches_patch ON device_patches (patch_id, state, first_seen, device_id);

CREATE TABLE patch_attempts (
    id            INTEGER PRIMARY KEY,
    device_id     BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    started_at    BIGINT  NOT NULL,
    finished_at   BIGINT,
    result        TEXT    NOT NULL,
    code          TEXT    NOT NULL DEFAULT '',
    message_en    TEXT    NOT NULL DEFAULT '',
    message_de    TEXT    NOT NULL DEFAULT '',
    reboot_needed INTEGER NOT NULL DEFAULT 0,
    run_trigger   TEXT    NOT NULL DEFAULT '',
    title         TEXT    NOT NULL DEFAULT '',
    kb            TEXT    NOT NULL DEFAULT '',
    source        TEXT    NOT NULL DEFAULT '',
    UNIQUE (device_id, key, started_at)
);
CREATE INDEX patch_attempts_device ON patch_attempts (device_id, started_at);
CREATE INDEX patch_attempts_started ON patch_attempts (started_at);

CREATE TABLE device_patch_status (
    device_id       BIGINT  PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    reported_at     BIGINT  NOT NULL,
    scanned_at      BIGINT,
    sources         TEXT    NOT NULL DEFAULT '[]',
    reboot          TEXT    NOT NULL DEFAULT '{}',
    missing         INTEGER NOT NULL DEFAULT 0,
    critical        INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    oldest_security BIGINT
);

CREATE TABLE patch_approvals (
    patch_id   BIGINT  NOT NULL REFERENCES patches (id) ON DELETE CASCADE,
    client_id  BIGINT  NOT NULL,
    approved   INTEGER NOT NULL,
    decided_by TEXT    NOT NULL DEFAULT '',
    decided_at BIGINT  NOT NULL,
    PRIMARY KEY (patch_id, client_id)
);
CREATE INDEX patch_approvals_client ON patch_approvals (client_id);
