-- Giving up on an outbox message (sqlite): given_up_at is when the sender
-- stopped retrying it (NULL: still retried), retried_at when an
-- administrator last sent a given-up message back into the queue; the
-- give-up time limit counts from it instead of created_at (both
-- milliseconds since the epoch). The due index leaves given-up messages
-- out of the claim and the backlog. Keep in step with
-- ../postgres/0045_outbox_give_up.sql.
ALTER TABLE outbox ADD COLUMN given_up_at BIGINT;
ALTER TABLE outbox ADD COLUMN retried_at BIGINT;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (delivered_at, given_up_at, next_attempt_at);
