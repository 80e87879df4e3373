-- The device list's query (issue 23; PostgreSQL). Keep in step with
-- ../sqlite/0037_device_list.sql.
-- device_inventory gains what the list shows and searches from the
-- inventory document: last_user is the first logged-on user of the newest
-- inventory that had one (kept while nobody is logged on), ips the NICs'
-- addresses without prefix length, lower-cased, distinct and separated by
-- single spaces. SaveInventory fills them; the UPDATE below backfills the
-- inventories stored before, from their documents.
ALTER TABLE device_inventory ADD COLUMN last_user TEXT NOT NULL DEFAULT '';
ALTER TABLE device_inventory ADD COLUMN ips       TEXT NOT NULL DEFAULT '';

UPDATE device_inventory SET
    last_user = COALESCE((SELECT u FROM jsonb_array_elements_text(
                              CASE WHEN jsonb_typeof(doc::jsonb #> '{system,logged_on}') = 'array'
                                   THEN doc::jsonb #> '{system,logged_on}' ELSE '[]'::jsonb END)
                              WITH ORDINALITY AS t (u, n)
                          WHERE u <> '' ORDER BY n LIMIT 1), ''),
    ips = COALESCE((SELECT string_agg(DISTINCT lower(split_part(a, '/', 1)), ' ')
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(doc::jsonb #> '{hardware,nics}') = 'array'
                                             THEN doc::jsonb #> '{hardware,nics}' ELSE '[]'::jsonb END) n,
                   jsonb_array_elements_text(CASE WHEN jsonb_typeof(n -> 'addresses') = 'array'
                                                  THEN n -> 'addresses' ELSE '[]'::jsonb END) a
              WHERE a <> ''), '');

-- Keyset paging and filters of the list: the device columns it sorts and
-- filters on, each ending with the ID that breaks ties.
CREATE INDEX devices_list_hostname ON devices (hostname, id);
CREATE INDEX devices_list_state ON devices (state, id);
CREATE INDEX devices_list_last_seen ON devices (last_seen, id);
