-- cluster_leases: the lease of a job that one node of a cluster leads at a
-- time (store.DB.Lead, docs/cluster.md). term counts the leaders and is
-- the fencing token; beat counts the current leader's renewals, and -1
-- marks a lease its leader gave back. SQLite serves one node and never
-- uses the table; it exists there too so that both schemas stay alike.
CREATE TABLE cluster_leases (
    job  TEXT   PRIMARY KEY,
    term BIGINT NOT NULL,
    beat BIGINT NOT NULL
);
