-- The outage list pages newest first by (opened_at, id) across all devices
-- (sqlite); this index lets each page read its rows in order instead of
-- sorting every outage. Keep in step with ../postgres/0042_outage_pages.sql.
CREATE INDEX outages_opened ON outages (opened_at, id);
