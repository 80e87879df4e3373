-- A disabled user can neither sign in nor use API tokens; a deleted user is
-- disabled for good, with e-mail, password, second factor, scope, sessions
-- and tokens removed. The row stays so that its ID is never given to
-- another user: audit entries name users by ID and the chained audit log
-- is never rewritten.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN deleted_at  BIGINT;
