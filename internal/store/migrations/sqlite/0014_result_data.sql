-- Structured findings of a result (protocol.Events, protocol.Logins: a JSON
-- object with kind and v), read by the daily report instead of message
-- text; '' for results without (older agents, most checks). History only:
-- the current state needs no structure. Keep in step with
-- ../postgres/0014_result_data.sql.
ALTER TABLE check_results ADD COLUMN data TEXT NOT NULL DEFAULT '';
