-- History built for volume (SQLite). Keep in step with ../postgres/0009_history.sql.
--
-- Raw results are kept for a configurable time (settings history_raw_days),
-- then rolled up into one row per check and hour and deleted; rollups are
-- kept for history_rollup_days. ListResults and CountResults reach a
-- device's history through its checks, so check_results needs no
-- (device_id, at) index: one index less to write per result.

DROP INDEX check_results_device_at;

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
