/* controld/admin_resources.c: fields and SQL of the admin CRUD resources. */

#include "admin.h"

/*
 * Conventions (see ctld_admin_resource_t): a write receives the validated
 * body as one jsonb parameter `b` and does all its work in one statement,
 * so it is atomic without an explicit transaction.  A name that must
 * resolve to a row becomes NULL when unknown and the NOT NULL constraint
 * (or a "missing" column) reports it.  Responses never include provider
 * credentials.
 */

#define CTLD_TS(col)                                                          \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define CTLD_STAMPS(a)                                                        \
    "'created_at', " CTLD_TS(a ".created_at") ", "                            \
    "'updated_at', " CTLD_TS(a ".updated_at")

/* the row named by the path: an id first, else a name */
#define CTLD_ITEM(table)                                                      \
    "(SELECT x.id FROM " table " x WHERE x.id = $1::bigint OR x.name = $2 "   \
    "ORDER BY x.id = $1::bigint DESC NULLS LAST LIMIT 1)"

/* column := the body's member when present (JSON null clears it) */
#define CTLD_SET(c)                                                           \
    c " = CASE WHEN b ? '" c "' THEN b->>'" c "' ELSE " c " END"
#define CTLD_SET_AS(c, expr)                                                  \
    c " = CASE WHEN b ? '" c "' THEN " expr " ELSE " c " END"

#define CTLD_BODY(n)  " FROM (SELECT $" #n "::jsonb AS b) s "

#define CTLD_NAME_CHARS     "._-"
#define CTLD_USER_CHARS     "._@+-"
#define CTLD_TARGET_CHARS   "._:/-"


/* users */

static const ctld_admin_field_t  ctld_admin_user_fields[] = {
    { "name", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, CTLD_USER_CHARS, 128 },
    { "email", CTLD_ADMIN_F_STRING, CTLD_ADMIN_NULLABLE, NULL, 254 },
    { NULL, 0, 0, NULL, 0 }
};

#define CTLD_USER_JSON                                                        \
    "json_build_object('id', u.id, 'name', u.name, 'email', u.email, "        \
    CTLD_STAMPS("u") ")"

const ctld_admin_resource_t  ctld_admin_users = {
    "user",
    ctld_admin_user_fields,
    NULL,
    NULL,

    "SELECT " CTLD_USER_JSON " FROM users u ORDER BY u.id",

    "SELECT " CTLD_USER_JSON " FROM users u WHERE u.id = "
    CTLD_ITEM("users"),

    "INSERT INTO users (name, email) SELECT b->>'name', b->>'email'"
    CTLD_BODY(1) "RETURNING id",

    "UPDATE users SET " CTLD_SET("name") ", " CTLD_SET("email")
    CTLD_BODY(3) "WHERE id = " CTLD_ITEM("users") " RETURNING id",

    "DELETE FROM users WHERE id = " CTLD_ITEM("users") " RETURNING id"
};


/* projects */

static const ctld_admin_field_t  ctld_admin_project_fields[] = {
    { "name", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, CTLD_NAME_CHARS, 128 },
    { "description", CTLD_ADMIN_F_TEXT, CTLD_ADMIN_NULLABLE, NULL, 4096 },
    { NULL, 0, 0, NULL, 0 }
};

#define CTLD_PROJECT_JSON                                                     \
    "json_build_object('id', p.id, 'name', p.name, "                          \
    "'description', p.description, " CTLD_STAMPS("p") ")"

const ctld_admin_resource_t  ctld_admin_projects = {
    "project",
    ctld_admin_project_fields,
    NULL,
    NULL,

    "SELECT " CTLD_PROJECT_JSON " FROM projects p ORDER BY p.id",

    "SELECT " CTLD_PROJECT_JSON " FROM projects p WHERE p.id = "
    CTLD_ITEM("projects"),

    "INSERT INTO projects (name, description) "
    "SELECT b->>'name', b->>'description'" CTLD_BODY(1) "RETURNING id",

    "UPDATE projects SET " CTLD_SET("name") ", " CTLD_SET("description")
    CTLD_BODY(3) "WHERE id = " CTLD_ITEM("projects") " RETURNING id",

    "DELETE FROM projects WHERE id = " CTLD_ITEM("projects") " RETURNING id"
};


/* providers */

static const ctld_admin_field_t  ctld_admin_provider_fields[] = {
    { "name", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, CTLD_NAME_CHARS, 64 },
    { "base_url", CTLD_ADMIN_F_URL, CTLD_ADMIN_REQUIRED, NULL, 2048 },
    { "dialect", CTLD_ADMIN_F_ENUM, 0, "chat|responses|messages", 16 },
    { "auth_kind", CTLD_ADMIN_F_ENUM, 0, "bearer|x-api-key|none", 16 },
    { "credential", CTLD_ADMIN_F_STRING, CTLD_ADMIN_NULLABLE, NULL, 8192 },
    { NULL, 0, 0, NULL, 0 }
};

#define CTLD_PROVIDER_JSON                                                    \
    "json_build_object('id', p.id, 'name', p.name, 'base_url', p.base_url, "  \
    "'dialect', p.dialect, 'auth_kind', p.auth_kind, "                        \
    "'has_credential', coalesce(p.credential, '') <> '', "                    \
    CTLD_STAMPS("p") ")"

const ctld_admin_resource_t  ctld_admin_providers = {
    "provider",
    ctld_admin_provider_fields,
    NULL,
    NULL,

    "SELECT " CTLD_PROVIDER_JSON " FROM providers p ORDER BY p.id",

    "SELECT " CTLD_PROVIDER_JSON " FROM providers p WHERE p.id = "
    CTLD_ITEM("providers"),

    "INSERT INTO providers (name, base_url, dialect, auth_kind, credential) "
    "SELECT b->>'name', b->>'base_url', coalesce(b->>'dialect', 'chat'), "
    "coalesce(b->>'auth_kind', 'bearer'), b->>'credential'"
    CTLD_BODY(1) "RETURNING id",

    "UPDATE providers SET " CTLD_SET("name") ", " CTLD_SET("base_url") ", "
    CTLD_SET("dialect") ", " CTLD_SET("auth_kind") ", "
    CTLD_SET("credential")
    CTLD_BODY(3) "WHERE id = " CTLD_ITEM("providers") " RETURNING id",

    "DELETE FROM providers WHERE id = " CTLD_ITEM("providers")
    " RETURNING id"
};


/* targets */

static const ctld_admin_field_t  ctld_admin_target_fields[] = {
    { "name", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, CTLD_TARGET_CHARS,
      128 },
    { "provider", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, CTLD_NAME_CHARS,
      64 },
    { "model", CTLD_ADMIN_F_STRING, CTLD_ADMIN_REQUIRED, NULL, 256 },
    { "weight", CTLD_ADMIN_F_UINT, 0, NULL, 0 },
    { "capabilities", CTLD_ADMIN_F_OBJECT, 0, NULL, 0 },
    { "prices", CTLD_ADMIN_F_OBJECT, 0, NULL, 0 },
    { NULL, 0, 0, NULL, 0 }
};

static const ctld_admin_ref_t  ctld_admin_target_refs[] = {
    { "provider_id", "provider", "provider" },
    { NULL, NULL, NULL }
};

#define CTLD_TARGET_JSON                                                      \
    "json_build_object('id', t.id, 'name', t.name, 'provider', p.name, "      \
    "'model', t.model, 'weight', t.weight, "                                  \
    "'capabilities', t.capabilities, 'prices', t.prices, "                    \
    CTLD_STAMPS("t") ") FROM targets t JOIN providers p "                     \
    "ON p.id = t.provider_id"

#define CTLD_PROVIDER_ID                                                      \
    "(SELECT p.id FROM providers p WHERE p.name = b->>'provider')"

const ctld_admin_resource_t  ctld_admin_targets = {
    "target",
    ctld_admin_target_fields,
    NULL,
    ctld_admin_target_refs,

    "SELECT " CTLD_TARGET_JSON " ORDER BY t.id",

    "SELECT " CTLD_TARGET_JSON " WHERE t.id = " CTLD_ITEM("targets"),

    "INSERT INTO targets "
    "(name, provider_id, model, weight, capabilities, prices) "
    "SELECT b->>'name', " CTLD_PROVIDER_ID ", b->>'model', "
    "coalesce((b->>'weight')::int, 1), coalesce(b->'capabilities', '{}'), "
    "coalesce(b->'prices', '{}')" CTLD_BODY(1) "RETURNING id",

    "UPDATE targets SET " CTLD_SET("name") ", "
    "provider_id = CASE WHEN b ? 'provider' THEN " CTLD_PROVIDER_ID
    " ELSE provider_id END, "
    CTLD_SET("model") ", " CTLD_SET_AS("weight", "(b->>'weight')::int") ", "
    CTLD_SET_AS("capabilities", "b->'capabilities'") ", "
    CTLD_SET_AS("prices", "b->'prices'")
    CTLD_BODY(3) "WHERE id = " CTLD_ITEM("targets") " RETURNING id",

    "DELETE FROM targets WHERE id = " CTLD_ITEM("targets") " RETURNING id"
};


/* model groups and their targets (group_targets) */

static const ctld_admin_field_t  ctld_admin_group_fields[] = {
    { "name", CTLD_ADMIN_F_NAME, CTLD_ADMIN_REQUIRED, CTLD_TARGET_CHARS,
      128 },
    { "strategy", CTLD_ADMIN_F_ENUM, 0,
      "weighted|static|failover|scored|script", 16 },
    { "description", CTLD_ADMIN_F_TEXT, CTLD_ADMIN_NULLABLE, NULL, 4096 },
    { "idle_timeout_ms", CTLD_ADMIN_F_UINT, CTLD_ADMIN_NULLABLE, NULL, 0 },
    { "targets", CTLD_ADMIN_F_NAMES, 0, CTLD_TARGET_CHARS, 256 },
    { NULL, 0, 0, NULL, 0 }
};

/* the write's second column is named after the reference it reports */
static const ctld_admin_ref_t  ctld_admin_group_refs[] = {
    { "target_id", "targets", "target" },
    { NULL, NULL, NULL }
};

#define CTLD_GROUP_JSON                                                       \
    "json_build_object('id', g.id, 'name', g.name, "                          \
    "'strategy', g.strategy, 'description', g.description, "                  \
    "'idle_timeout_ms', g.idle_timeout_ms, "                                  \
    "'targets', coalesce((SELECT json_agg(t.name ORDER BY gt.position, "      \
    "t.id) FROM group_targets gt JOIN targets t ON t.id = gt.target_id "      \
    "WHERE gt.group_id = g.id), '[]'::json), " CTLD_STAMPS("g") ")"

/* w: the wanted targets in order; m: the first that does not exist */
#define CTLD_GROUP_WANTED(n)                                                  \
    "WITH s AS (SELECT $" #n "::jsonb AS b), "                                \
    "w AS (SELECT e.name, e.ord FROM s, jsonb_array_elements_text("           \
    "coalesce(s.b->'targets', '[]')) WITH ORDINALITY AS e(name, ord)), "      \
    "m AS (SELECT w.name FROM w WHERE NOT EXISTS (SELECT 1 FROM targets t "   \
    "WHERE t.name = w.name) ORDER BY w.ord LIMIT 1), "

#define CTLD_GROUP_LINK                                                       \
    "INSERT INTO group_targets (group_id, target_id, position) "              \
    "SELECT g.id, t.id, w.ord - 1 FROM g, w JOIN targets t "                  \
    "ON t.name = w.name"

#define CTLD_GROUP_RESULT                                                     \
    " SELECT (SELECT id FROM g) AS id, (SELECT name FROM m) AS target_id"

const ctld_admin_resource_t  ctld_admin_groups = {
    "group",
    ctld_admin_group_fields,
    NULL,
    ctld_admin_group_refs,

    "SELECT " CTLD_GROUP_JSON " FROM model_groups g ORDER BY g.id",

    "SELECT " CTLD_GROUP_JSON " FROM model_groups g WHERE g.id = "
    CTLD_ITEM("model_groups"),

    CTLD_GROUP_WANTED(1)
    "g AS (INSERT INTO model_groups (name, strategy, description, "
    "idle_timeout_ms) "
    "SELECT b->>'name', coalesce(b->>'strategy', 'weighted'), "
    "b->>'description', (b->>'idle_timeout_ms')::int FROM s "
    "WHERE NOT EXISTS (SELECT 1 FROM m) "
    "RETURNING id), "
    "l AS (" CTLD_GROUP_LINK ")"
    CTLD_GROUP_RESULT,

    /*
     * The link set is replaced only when "targets" is given: rows that
     * stay are upserted (new position), the others deleted; the two
     * touch disjoint rows, so their order inside the statement is moot.
     */
    CTLD_GROUP_WANTED(3)
    "g AS (UPDATE model_groups SET " CTLD_SET("name") ", "
    CTLD_SET("strategy") ", " CTLD_SET("description") ", "
    CTLD_SET_AS("idle_timeout_ms", "(b->>'idle_timeout_ms')::int") " FROM s "
    "WHERE id = " CTLD_ITEM("model_groups")
    " AND NOT EXISTS (SELECT 1 FROM m) RETURNING model_groups.id), "
    "d AS (DELETE FROM group_targets x USING g, s "
    "WHERE x.group_id = g.id AND s.b ? 'targets' AND x.target_id NOT IN "
    "(SELECT t.id FROM w JOIN targets t ON t.name = w.name)), "
    "l AS (" CTLD_GROUP_LINK " ON CONFLICT (group_id, target_id) "
    "DO UPDATE SET position = excluded.position)"
    CTLD_GROUP_RESULT,

    "DELETE FROM model_groups WHERE id = " CTLD_ITEM("model_groups")
    " RETURNING id"
};
