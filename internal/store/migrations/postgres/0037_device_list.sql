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

-- No new index: the list works out every matching device's worst status
-- and sort value per query (by the primary keys and checks' unique
-- (device_id, name, key)), so an index on a device column would not spare
-- the sort; docs/benchmarks.md has the figures at 10,000 devices.
