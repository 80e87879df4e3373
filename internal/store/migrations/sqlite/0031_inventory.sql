-- Hardware and software inventory with change history (issue 18; sqlite).
-- Keep in step with ../postgres/0031_inventory.sql.
-- device_inventory holds each device's last inventory: doc is the
-- normalized core.Inventory as JSON without the public address (which the
-- server saw, not the agent: public_ip), digest its protocol digest (the
-- base of the agent's next diff), and the summary columns the fleet search
-- filters on. Programs are rows of inventory_programs, found by name
-- through software_names: a name search scans the few thousand distinct
-- lower-case names, then reads the programs of the matching ones by index.
-- inventory_changes is the change history, newest by id; it outlives a
-- forgotten inventory and is kept as long as the history rollups.
CREATE TABLE device_inventory (
    device_id      BIGINT  PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    digest         TEXT    NOT NULL,
    received_at    BIGINT  NOT NULL,
    doc            TEXT    NOT NULL,
    public_ip      TEXT    NOT NULL DEFAULT '',
    os_name        TEXT    NOT NULL DEFAULT '',
    os_version     TEXT    NOT NULL DEFAULT '',
    os_build       TEXT    NOT NULL DEFAULT '',
    manufacturer   TEXT    NOT NULL DEFAULT '',
    model          TEXT    NOT NULL DEFAULT '',
    serial         TEXT    NOT NULL DEFAULT '',
    cpu_model      TEXT    NOT NULL DEFAULT '',
    memory_bytes   BIGINT  NOT NULL DEFAULT 0,
    disk_bytes     BIGINT  NOT NULL DEFAULT 0,
    battery_health INTEGER NOT NULL DEFAULT 0, -- lowest of its batteries; 0 none
    programs       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX device_inventory_memory ON device_inventory (memory_bytes);

CREATE TABLE software_names (
    id         INTEGER PRIMARY KEY,
    name_lower TEXT    NOT NULL UNIQUE
);

CREATE TABLE inventory_programs (
    device_id    BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    name_id      BIGINT  NOT NULL REFERENCES software_names (id),
    name         TEXT    NOT NULL,
    version      TEXT    NOT NULL DEFAULT '',
    publisher    TEXT    NOT NULL DEFAULT '',
    install_date TEXT    NOT NULL DEFAULT '',
    size_bytes   BIGINT  NOT NULL DEFAULT 0,
    source       TEXT    NOT NULL DEFAULT '',
    program_id   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX inventory_programs_name ON inventory_programs (name_id);
CREATE INDEX inventory_programs_device ON inventory_programs (device_id);

CREATE TABLE inventory_changes (
    id        INTEGER PRIMARY KEY,
    device_id BIGINT  NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    at        BIGINT  NOT NULL,
    part      TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    item      TEXT    NOT NULL DEFAULT '',
    old       TEXT    NOT NULL DEFAULT '',
    new       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX inventory_changes_device ON inventory_changes (device_id, id);
CREATE INDEX inventory_changes_at ON inventory_changes (at);
