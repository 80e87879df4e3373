-- cluster_nodes.url: where the other nodes reach this node's HTTPS port
-- (`wacht serve --node-url`), to relay actions and streams to the agents
-- it holds directly, node to node (docs/cluster.md). Keep in step with
-- ../sqlite/0016_node_url.sql.
ALTER TABLE cluster_nodes ADD COLUMN url TEXT NOT NULL DEFAULT '';
