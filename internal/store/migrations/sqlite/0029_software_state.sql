-- Desired software state in policies and the packages' MACs (issue 17;
-- sqlite). Keep in step with ../postgres/0029_software_state.sql.
-- policies.software is a JSON array of core.PolicySoftware, each with
-- "mac", the server's HMAC over the policy ID and the entry. packages.mac
-- is the server's HMAC over the definition and its file
-- (internal/scriptmac): a package the server did not write, or changed
-- behind its back, is deployed nowhere.
ALTER TABLE policies ADD COLUMN software TEXT NOT NULL DEFAULT '[]';
ALTER TABLE packages ADD COLUMN mac BLOB;
