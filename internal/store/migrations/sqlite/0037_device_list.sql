-- The device list's query (issue 23; sqlite). Keep in step with
-- ../postgres/0037_device_list.sql.
-- device_inventory gains what the list shows and searches from the
-- inventory document: last_user is the first logged-on user of the newest
-- inventory that had one (kept while nobody is logged on), ips the NICs'
-- addresses without prefix length, lower-cased, distinct and separated by
-- single spaces. SaveInventory fills them; the UPDATE below backfills the
-- inventories stored before, from their documents.
ALTER TABLE device_inventory ADD COLUMN last_user TEXT NOT NULL DEFAULT '';
ALTER TABLE device_inventory ADD COLUMN ips       TEXT NOT NULL DEFAULT '';

UPDATE device_inventory SET
    last_user = COALESCE((SELECT u.value FROM json_each(doc, '$.system.logged_on') u
                          WHERE json_type(doc, '$.system.logged_on') = 'array' AND u.value <> ''
                          ORDER BY u.key LIMIT 1), ''),
    ips = COALESCE((SELECT group_concat(ip, ' ') FROM (
              SELECT DISTINCT lower(CASE WHEN instr(a.value, '/') > 0
                                         THEN substr(a.value, 1, instr(a.value, '/') - 1)
                                         ELSE a.value END) AS ip
              FROM json_each(doc, '$.hardware.nics') n, json_each(n.value, '$.addresses') a
              WHERE json_type(doc, '$.hardware.nics') = 'array'
                AND json_type(n.value, '$.addresses') = 'array' AND a.value <> '')), '');

-- No new index: the list works out every matching device's worst status
-- and sort value per query (by the primary keys and checks' unique
-- (device_id, name, key)), so an index on a device column would not spare
-- the sort; docs/benchmarks.md has the figures at 10,000 devices.
