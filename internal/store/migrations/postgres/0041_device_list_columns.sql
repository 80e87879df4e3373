-- The device list at 10,000 devices (issue 23; PostgreSQL). Keep in step with
-- ../sqlite/0041_device_list_columns.sql.
-- worst is the severity (core.Status.Severity) of the device's worst check
-- state, at least OK's: working it out from ~80,000 check states on every
-- page cost the list most of its time (docs/benchmarks.md). The store
-- recomputes it in the transaction that changes a check state
-- (refreshWorst); the time-dependent rule (a network device whose probe
-- is offline is unknown) stays in the query.
-- search_text is what the list's search looks in (hostname, last user,
-- addresses, serial, tags), lower-cased in Go so that non-ASCII letters
-- match on SQLite too; NULL until the store fills it, which it does at
-- open for the devices stored before (refreshSearch).
ALTER TABLE devices ADD COLUMN worst INTEGER NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN search_text TEXT;

UPDATE devices SET worst = COALESCE((
    SELECT MAX(CASE cs.status WHEN 'failure' THEN 5 WHEN 'error' THEN 4 WHEN 'warning' THEN 3
                    WHEN 'ok' THEN 1 WHEN 'unsupported' THEN 1 ELSE 2 END)
    FROM checks ch JOIN check_state cs ON cs.check_id = ch.id WHERE ch.device_id = devices.id), 1);

-- The list's sorts, each with the ID that breaks ties, and its filters.
CREATE INDEX devices_list_name ON devices (lower(hostname), id);
CREATE INDEX devices_list_last_seen ON devices (last_seen, id);
CREATE INDEX devices_list_os ON devices (os, id);
CREATE INDEX devices_list_agent ON devices (agent_version, id);
CREATE INDEX devices_list_worst ON devices (worst, id);
CREATE INDEX devices_list_site ON devices (site_id, id);
CREATE INDEX devices_unfilled_search ON devices (id) WHERE search_text IS NULL;
