-- Incremental key sync reads keys changed since its last read: without an
-- index on updated_at each read scans the whole table (~220 ms at 1M keys),
-- most of the time a revocation takes to reach the edges.

CREATE INDEX keys_updated_at_idx ON keys (updated_at);
