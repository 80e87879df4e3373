-- When a client's daily report schedule last began (postgres): switching the
-- report on or moving its hour sets it, so a slot that passed earlier that
-- day is not caught up at once (milliseconds since the epoch; 0: the
-- schedule began with the client). Keep in step with
-- ../sqlite/0044_report_since.sql.
ALTER TABLE report_settings ADD COLUMN since BIGINT NOT NULL DEFAULT 0;
