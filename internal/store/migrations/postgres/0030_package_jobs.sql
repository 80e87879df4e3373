-- Package deployments as jobs (issue 17; PostgreSQL). Keep in step with
-- ../sqlite/0030_package_jobs.sql, which explains the columns.
ALTER TABLE script_jobs ALTER COLUMN script_id DROP NOT NULL;
ALTER TABLE script_jobs ADD COLUMN action TEXT NOT NULL DEFAULT 'script';
ALTER TABLE script_jobs ADD COLUMN package_id BIGINT;
ALTER TABLE script_jobs ADD COLUMN package_name TEXT NOT NULL DEFAULT '';
ALTER TABLE script_jobs ADD COLUMN package_version TEXT NOT NULL DEFAULT '';
ALTER TABLE script_jobs ADD COLUMN package_mac BYTEA;
ALTER TABLE script_jobs ADD COLUMN timeout_seconds INTEGER NOT NULL DEFAULT 0;
CREATE INDEX script_jobs_package ON script_jobs (package_id);
ALTER TABLE script_runs ADD COLUMN meaning TEXT NOT NULL DEFAULT '';
ALTER TABLE script_runs ADD COLUMN reboot_needed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE script_runs ADD COLUMN sw_state TEXT NOT NULL DEFAULT '';
ALTER TABLE script_runs ADD COLUMN sw_version TEXT NOT NULL DEFAULT '';
ALTER TABLE script_runs ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE script_runs ADD COLUMN not_before BIGINT;
