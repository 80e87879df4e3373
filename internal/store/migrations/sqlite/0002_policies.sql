-- Policies (monitoring templates) and their assignments (SQLite). Keep in
-- step with ../postgres/0002_policies.sql.

CREATE TABLE policies (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    description_en TEXT    NOT NULL DEFAULT '',
    description_de TEXT    NOT NULL DEFAULT '',
    builtin        TEXT    UNIQUE, -- NULL for user policies; "server", "workstation"
    checks         TEXT    NOT NULL, -- JSON array of core.PolicyCheck
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

-- target_id is a client, site or device ID by level (0 for the default
-- level), so it has no foreign key; the API checks it exists.
CREATE TABLE policy_assignments (
    level     TEXT    NOT NULL,
    target_id BIGINT  NOT NULL,
    policy_id BIGINT  NOT NULL REFERENCES policies (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    PRIMARY KEY (level, target_id, policy_id)
);
CREATE INDEX policy_assignments_policy ON policy_assignments (policy_id);
