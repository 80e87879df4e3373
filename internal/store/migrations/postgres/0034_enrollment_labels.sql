-- Enrollment tokens from the dashboard and the API (issue 21; PostgreSQL).
-- Keep in step with ../sqlite/0034_enrollment_labels.sql.
-- label says what a token is for ("Intune rollout"); created_by names who
-- created it, as the audit log names actors; '' for tokens made before.
-- The index serves the per-site token list of a site's "Add device" page.
ALTER TABLE enrollment_tokens ADD COLUMN label      TEXT NOT NULL DEFAULT '';
ALTER TABLE enrollment_tokens ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
CREATE INDEX enrollment_tokens_site ON enrollment_tokens (site_id, created_at);
