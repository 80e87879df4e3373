-- cluster_nodes.url: where the other nodes reach this node (see
-- ../postgres/0016_node_url.sql). SQLite serves a single node and never
-- uses it; it exists so that both schemas stay alike.
ALTER TABLE cluster_nodes ADD COLUMN url TEXT NOT NULL DEFAULT '';
