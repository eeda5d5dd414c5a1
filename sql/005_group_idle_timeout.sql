-- Upstream idle timeout per model group: how long a provider may stay
-- silent (before its header, or between two stream events) before the
-- gateway gives up, ends a stream with an error event and records the
-- request as failed.  NULL: the gateway default, 120 s.

ALTER TABLE model_groups ADD COLUMN idle_timeout_ms integer
    CHECK (idle_timeout_ms IS NULL
           OR idle_timeout_ms BETWEEN 1000 AND 86400000);
