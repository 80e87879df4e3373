-- Why an outage's opening message went to nobody (sqlite): 'no_recipient'
-- (no recipient at its device's level) or 'no_mail_server' (only e-mail
-- recipients and no SMTP server configured); '' when it was queued or not
-- due (held, cleared). Keep in step with ../postgres/0040_outage_not_notified.sql.
ALTER TABLE outages ADD COLUMN not_notified TEXT NOT NULL DEFAULT '';
