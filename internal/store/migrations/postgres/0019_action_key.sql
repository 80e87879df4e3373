-- The fingerprint (hex SHA-256) of the newest action key the device's agent
-- trusts, as it reported it in its auth frame or confirmed an announced
-- key after a rotation; '' until an agent that knows rotation reports one.
-- `wacht actionkey status` lists the devices not yet on the current key.
ALTER TABLE devices ADD COLUMN action_key_fp TEXT NOT NULL DEFAULT '';
