-- Several server nodes on one database (PostgreSQL). Keep in step with
-- ../sqlite/0010_cluster.sql, where a single node never uses them.

-- cluster_nodes: one row per running `wacht serve`, under an ID chosen at
-- each start; seen_at is refreshed every few seconds, so a node whose row
-- went stale is dead and its agent sessions no longer count.
CREATE TABLE cluster_nodes (
    id         TEXT   PRIMARY KEY,
    started_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL
);

-- agent_sessions: which node holds a device's websocket, so that a command
-- given on another node is relayed to it (LISTEN/NOTIFY).
CREATE TABLE agent_sessions (
    device_id BIGINT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    node_id   TEXT   NOT NULL,
    since     BIGINT NOT NULL
);
CREATE INDEX agent_sessions_node ON agent_sessions (node_id);

-- cluster_messages holds relayed messages too large for a NOTIFY payload
-- (8000 bytes); the notification carries the row's ID, the receiver
-- deletes the row.
CREATE TABLE cluster_messages (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
