-- Schema v1: policy (users, projects, caller keys, providers, targets,
-- model groups) and the usage ledger.  Applied once by `controld migrate`,
-- which records it in schema_migrations; never edited after release.

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._@+-]{1,128}$'),
    email       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,128}$'),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Caller keys.  id is the token's public id; only sha256(token) is kept.
CREATE TABLE keys (
    id            text PRIMARY KEY CHECK (id ~ '^[0-9a-f]{12}$'),
    token_sha256  text NOT NULL UNIQUE CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    name          text,
    user_id       bigint NOT NULL REFERENCES users(id),
    project_id    bigint NOT NULL REFERENCES projects(id),
    environment   text NOT NULL DEFAULT 'dev'
                  CHECK (environment ~ '^[A-Za-z0-9._-]{1,64}$'),
    status        text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'disabled', 'revoked')),
    groups        text[] NOT NULL DEFAULT '{}',
    expires_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
CREATE INDEX keys_user_idx ON keys (user_id);
CREATE INDEX keys_project_idx ON keys (project_id);

-- Providers: where to send, in which dialect, with which credential.
-- credential is write-only through the admin API.
CREATE TABLE providers (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._-]{1,64}$'),
    base_url    text NOT NULL CHECK (base_url ~ '^https?://'),
    dialect     text NOT NULL DEFAULT 'chat'
                CHECK (dialect IN ('chat', 'responses', 'messages')),
    auth_kind   text NOT NULL DEFAULT 'bearer'
                CHECK (auth_kind IN ('bearer', 'x-api-key', 'none')),
    credential  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Targets: one upstream model at one provider.
CREATE TABLE targets (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._:/-]{1,128}$'),
    provider_id   bigint NOT NULL REFERENCES providers(id),
    model         text NOT NULL CHECK (model !~ '[\t\n\r]' AND length(model) BETWEEN 1 AND 256),
    weight        integer NOT NULL DEFAULT 1 CHECK (weight >= 0),
    capabilities  jsonb NOT NULL DEFAULT '{}',
    prices        jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX targets_provider_idx ON targets (provider_id);

CREATE TABLE model_groups (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._:/-]{1,128}$'),
    strategy    text NOT NULL DEFAULT 'weighted'
                CHECK (strategy IN ('weighted', 'static', 'failover',
                                    'scored', 'script')),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_targets (
    group_id    bigint NOT NULL REFERENCES model_groups(id) ON DELETE CASCADE,
    target_id   bigint NOT NULL REFERENCES targets(id) ON DELETE CASCADE,
    position    integer NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, target_id)
);
CREATE INDEX group_targets_target_idx ON group_targets (target_id);

-- The usage ledger: one row per request id (at-least-once delivery,
-- deduplicated here).  Tokens are as the provider reported them.
CREATE TABLE usage_events (
    request_id      text PRIMARY KEY,
    ts              timestamptz NOT NULL,
    key_id          text,
    user_name       text,
    project_name    text,
    environment     text,
    client_ip       inet,
    dialect         text,
    endpoint        text,
    model_group     text,
    provider        text,
    model           text,
    target          text,
    status          integer,
    stream          boolean NOT NULL DEFAULT false,
    input_tokens    bigint,
    output_tokens   bigint,
    latency_ms      double precision,
    ttfb_ms         double precision,
    attempts        integer,
    ingested_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_ts_idx ON usage_events (ts);
CREATE INDEX usage_events_key_ts_idx ON usage_events (key_id, ts);

-- Any change to policy wakes every controld sync role.
CREATE FUNCTION sluice_policy_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sluice_policy', TG_TABLE_NAME);
    RETURN NULL;
END;
$$;

CREATE TRIGGER keys_notify AFTER INSERT OR UPDATE OR DELETE ON keys
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_policy_notify();
CREATE TRIGGER users_notify AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_policy_notify();
CREATE TRIGGER projects_notify AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_policy_notify();
CREATE TRIGGER providers_notify AFTER INSERT OR UPDATE OR DELETE ON providers
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_policy_notify();
CREATE TRIGGER targets_notify AFTER INSERT OR UPDATE OR DELETE ON targets
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_policy_notify();
CREATE TRIGGER model_groups_notify AFTER INSERT OR UPDATE OR DELETE
    ON model_groups FOR EACH STATEMENT EXECUTE FUNCTION sluice_policy_notify();
CREATE TRIGGER group_targets_notify AFTER INSERT OR UPDATE OR DELETE
    ON group_targets FOR EACH STATEMENT EXECUTE FUNCTION sluice_policy_notify();

-- updated_at follows every change (sync reads keys incrementally by it).
CREATE FUNCTION sluice_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END;
$$;

CREATE TRIGGER keys_touch BEFORE UPDATE ON keys
    FOR EACH ROW EXECUTE FUNCTION sluice_touch();
CREATE TRIGGER users_touch BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION sluice_touch();
CREATE TRIGGER projects_touch BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION sluice_touch();
CREATE TRIGGER providers_touch BEFORE UPDATE ON providers
    FOR EACH ROW EXECUTE FUNCTION sluice_touch();
CREATE TRIGGER targets_touch BEFORE UPDATE ON targets
    FOR EACH ROW EXECUTE FUNCTION sluice_touch();
CREATE TRIGGER model_groups_touch BEFORE UPDATE ON model_groups
    FOR EACH ROW EXECUTE FUNCTION sluice_touch();
