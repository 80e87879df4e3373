-- Each user's time zone for the dashboard (issue 23; postgres): an IANA name
-- such as 'Europe/Berlin'; '' until the user chose one or the browser told
-- it (the dashboard shows Europe/Berlin until then).
-- Keep in step with ../sqlite/0039_user_time_zone.sql.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';
