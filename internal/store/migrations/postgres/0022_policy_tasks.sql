-- Automated tasks in policies and the MACs that let only the server make
-- agents run code (issue 16; postgres). Keep in step with ../sqlite/0022_policy_tasks.sql.
-- policies.tasks is a JSON array of core.PolicyTask, each with "mac", the
-- server's HMAC over the policy ID and the entry (internal/scriptmac);
-- secret parameters are sealed. script_versions.mac is the server's HMAC
-- over a version's executable content. A row the server did not write
-- (or a version stored before this migration) carries no valid MAC and
-- the policy resolver sends nothing of it.
ALTER TABLE policies ADD COLUMN tasks TEXT NOT NULL DEFAULT '[]';
ALTER TABLE script_versions ADD COLUMN mac BYTEA;
