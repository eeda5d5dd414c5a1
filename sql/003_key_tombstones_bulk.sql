-- Key tombstones, set-based.  002's row trigger pruned key_tombstones once
-- per row with a clock_timestamp() bound (volatile: no index), so a bulk
-- DELETE or UPDATE on keys went quadratic.  Statement-level triggers with
-- transition tables replace it: one prune per statement, bounded by now()
-- so the index serves it, and one INSERT ... SELECT for the tombstones.

DROP TRIGGER keys_tombstone ON keys;
DROP FUNCTION sluice_key_tombstone();

CREATE FUNCTION sluice_key_tombstones() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM key_tombstones WHERE deleted_at < now() - interval '1 day';

    IF TG_OP = 'DELETE' THEN
        INSERT INTO key_tombstones (token_sha256)
            SELECT token_sha256 FROM old_keys;
    ELSE
        -- a rotated token: its old hash is gone from the table
        INSERT INTO key_tombstones (token_sha256)
            SELECT o.token_sha256 FROM old_keys o
            WHERE NOT EXISTS (SELECT 1 FROM new_keys n
                              WHERE n.token_sha256 = o.token_sha256);
    END IF;

    RETURN NULL;
END;
$$;

CREATE TRIGGER keys_tombstone_delete AFTER DELETE ON keys
    REFERENCING OLD TABLE AS old_keys
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_key_tombstones();
CREATE TRIGGER keys_tombstone_update AFTER UPDATE ON keys
    REFERENCING OLD TABLE AS old_keys NEW TABLE AS new_keys
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_key_tombstones();
