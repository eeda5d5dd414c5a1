-- Key tombstones: sync reads keys incrementally by updated_at, which cannot
-- see a DELETE or the old hash of a rotated token.  Both leave a tombstone
-- here so every edge drops the old token within the incremental sync, not
-- at the next full reconcile.  Tombstones older than a day are pruned as
-- new ones arrive (the full reconcile covers anything older).

CREATE TABLE key_tombstones (
    token_sha256  text NOT NULL,
    deleted_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX key_tombstones_deleted_idx ON key_tombstones (deleted_at);

CREATE FUNCTION sluice_key_tombstone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR OLD.token_sha256 <> NEW.token_sha256 THEN
        DELETE FROM key_tombstones
            WHERE deleted_at < clock_timestamp() - interval '1 day';
        INSERT INTO key_tombstones (token_sha256) VALUES (OLD.token_sha256);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER keys_tombstone AFTER UPDATE OR DELETE ON keys
    FOR EACH ROW EXECUTE FUNCTION sluice_key_tombstone();
