-- Saved views of the device list (issue 23; sqlite).
-- Keep in step with ../postgres/0038_saved_views.sql.
-- query is the device list's URL query string; a user's view names are
-- unique. Deleting a user (store.DeleteUser keeps the row) clears them.
CREATE TABLE saved_views (
    id         INTEGER PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT   NOT NULL,
    query      TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, name)
);
