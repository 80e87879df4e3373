-- History built for volume (PostgreSQL). Keep in step with ../sqlite/0009_history.sql.
--
-- check_results becomes a table partitioned by day on at, so that retention
-- drops whole partitions instead of deleting rows. The maintenance job
-- creates day partitions ahead (check_results_pYYYYMMDD); rows outside them
-- (old history converted here, agents with wrong clocks) land in
-- check_results_default and are moved into a day partition when it is
-- created. A unique result ID would have to include the partition key, so
-- exactly-once lives in check_result_ids (id → at), pruned together with the
-- raw history; its BRIN index on at costs next to nothing per insert.
-- History has no foreign key to checks: its per-row trigger took more time
-- than the insert itself (EXPLAIN ANALYZE: 3.5 of 5.7 ms for 500 rows).
-- Rows come only from SaveResults, which resolves check IDs under the
-- device's row lock, and checks are never deleted while history exists.
--
-- Raw results are kept for a configurable time (settings history_raw_days),
-- then rolled up into one row per check and hour; rollups are kept for
-- history_rollup_days. ListResults and CountResults reach a device's history
-- through its checks, so there is no (device_id, at) index to write.

ALTER TABLE check_results RENAME TO check_results_unpartitioned;
DROP INDEX check_results_device_at;
DROP INDEX check_results_check_at;

CREATE TABLE check_results (
    id         TEXT    NOT NULL, -- chosen by the agent (UUID); unique via check_result_ids
    check_id   BIGINT  NOT NULL, -- no foreign key, see above
    device_id  BIGINT  NOT NULL,
    status     TEXT    NOT NULL,
    value      DOUBLE PRECISION,
    unit       TEXT    NOT NULL DEFAULT '',
    message_en TEXT    NOT NULL DEFAULT '',
    message_de TEXT    NOT NULL DEFAULT '',
    at         BIGINT  NOT NULL
) PARTITION BY RANGE (at);
CREATE TABLE check_results_default PARTITION OF check_results DEFAULT;
CREATE INDEX check_results_check_at ON check_results (check_id, at);

CREATE TABLE check_result_ids (
    id TEXT   PRIMARY KEY,
    at BIGINT NOT NULL
);
CREATE INDEX check_result_ids_at ON check_result_ids USING brin (at);

INSERT INTO check_results (id, check_id, device_id, status, value, unit, message_en, message_de, at)
SELECT id, check_id, device_id, status, value, unit, message_en, message_de, at FROM check_results_unpartitioned;
INSERT INTO check_result_ids (id, at) SELECT id, at FROM check_results_unpartitioned;
DROP TABLE check_results_unpartitioned;

CREATE TABLE check_rollups (
    check_id  BIGINT  NOT NULL REFERENCES checks (id) ON DELETE CASCADE,
    hour      BIGINT  NOT NULL, -- start of the hour, Unix milliseconds
    severity  INTEGER NOT NULL, -- of the worst status (core.Status.Severity)
    unit      TEXT    NOT NULL DEFAULT '',
    results   BIGINT  NOT NULL, -- results of the hour
    n_values  BIGINT  NOT NULL, -- of which had a value
    min_value DOUBLE PRECISION,
    max_value DOUBLE PRECISION,
    sum_value DOUBLE PRECISION,
    PRIMARY KEY (check_id, hour)
);
CREATE INDEX check_rollups_hour ON check_rollups (hour);
