-- Network devices without an agent (PostgreSQL). Keep in step with
-- ../sqlite/0006_netdevices.sql. A network device is also a devices row
-- (kind 'network', empty public key) so that it is listed and stores
-- results like any device.
ALTER TABLE devices ADD COLUMN kind TEXT NOT NULL DEFAULT 'agent';

CREATE TABLE network_devices (
    device_id       BIGINT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    probe_device_id BIGINT REFERENCES devices (id), -- NULL: the server runs the checks
    address         TEXT   NOT NULL,
    type            TEXT   NOT NULL,
    checks          TEXT   NOT NULL DEFAULT '[]', -- JSON, parameters without secrets
    sealed          BYTEA  NOT NULL               -- AES-256-GCM sealed secrets, never plaintext
);
CREATE INDEX network_devices_probe ON network_devices (probe_device_id);
