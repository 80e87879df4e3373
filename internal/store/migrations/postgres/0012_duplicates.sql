-- A device enrolled with the machine ID of another active device of its
-- site, without proving that device's key (a reinstall that lost its key, a
-- cloned machine or an impostor), points at that device. Keep in step with
-- ../sqlite/0012_duplicates.sql.
ALTER TABLE devices ADD COLUMN duplicate_of BIGINT REFERENCES devices (id) ON DELETE SET NULL;
