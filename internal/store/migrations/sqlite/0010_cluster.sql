-- Several server nodes on one database. Keep in step with
-- ../postgres/0010_cluster.sql. SQLite serves a single node, which never
-- uses these tables; they exist so that both schemas stay alike.

CREATE TABLE cluster_nodes (
    id         TEXT   PRIMARY KEY,
    started_at BIGINT NOT NULL,
    seen_at    BIGINT NOT NULL
);

CREATE TABLE agent_sessions (
    device_id BIGINT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    node_id   TEXT   NOT NULL,
    since     BIGINT NOT NULL
);
CREATE INDEX agent_sessions_node ON agent_sessions (node_id);

CREATE TABLE cluster_messages (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    payload    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
