/*
 * Unit tests (TAP) for sluice_table: key and group records as controld
 * writes them (docs/CONTRACTS.md), malformed records, allow lists.
 */

#include <stdio.h>
#include <string.h>
#include "sluice_table.h"
#include "tap.h"



static int
span_is(sluice_span_t s, const char *v)
{
    return s.len == strlen(v) && memcmp(s.p, v, s.len) == 0;
}


static void
test_key(void)
{
    const char          *v;
    sluice_table_key_t   k;

    v = "1\tabcdef012345\tactive\t1900000000\talice\tweb\tprod\ta,b*";
    ok(sluice_table_key_parse(v, strlen(v), &k) == 0, "key record parses");
    ok(span_is(k.key_id, "abcdef012345") && span_is(k.status, "active")
       && k.expires_at == 1900000000 && span_is(k.user, "alice")
       && span_is(k.project, "web") && span_is(k.environment, "prod")
       && span_is(k.groups, "a,b*"), "key fields");

    v = "1\tabcdef012345\trevoked\t\talice\tweb\tprod\t";
    ok(sluice_table_key_parse(v, strlen(v), &k) == 0 && k.expires_at == 0
       && k.groups.len == 0, "empty fields");

    v = "1\tabcdef012345\tactive\t\talice\tweb\tprod";
    ok(sluice_table_key_parse(v, strlen(v), &k) != 0, "too few fields");
    v = "1\tabcdef012345\tactive\t\talice\tweb\tprod\tx\ty";
    ok(sluice_table_key_parse(v, strlen(v), &k) != 0, "too many fields");
    v = "2\tabcdef012345\tactive\t\talice\tweb\tprod\tx";
    ok(sluice_table_key_parse(v, strlen(v), &k) != 0, "unknown version");
    v = "1\tabcdef012345\tactive\t12x\talice\tweb\tprod\tx";
    ok(sluice_table_key_parse(v, strlen(v), &k) != 0, "bad expiry");
}


static void
test_group(void)
{
    const char             *v, *pos;
    int                     n, rc;
    unsigned                w;
    sluice_table_group_t    g;
    sluice_table_target_t   t;

    v = "1\tdemo\tweighted\n"
        "T\t1\t3\tmock\tchat\tm-1\thttp\t127.0.0.1:80\th\th\t/v1\tbearer\ts\n"
        "T\t2\t1\toai\tchat\tgpt\thttps\t[::1]:443\ta.b\ta.b\t\tnone\t\n";

    ok(sluice_table_group_parse(v, strlen(v), &g) == 0, "group parses");
    ok(span_is(g.name, "demo") && span_is(g.strategy, "weighted"),
       "group header");

    pos = g.targets;
    n = 0;
    w = 0;
    while ((rc = sluice_table_target_next(&pos, g.end, &t)) == 1) {
        n++;
        w += t.weight;
    }
    ok(rc == 0 && n == 2 && w == 4, "two targets, weights summed");
    ok(span_is(t.addr, "[::1]:443") && span_is(t.base_path, "")
       && span_is(t.auth_kind, "none") && t.credential.len == 0,
       "last target fields");

    v = "1\tdemo\tweighted\nT\t1\tx\tmock\n";
    ok(sluice_table_group_parse(v, strlen(v), &g) == 0, "header ok");
    pos = g.targets;
    ok(sluice_table_target_next(&pos, g.end, &t) == -1,
       "malformed target line refused");
}


static void
test_allowed(void)
{
    sluice_span_t  g;

    g.p = "demo-*,prod";
    g.len = strlen(g.p);
    ok(sluice_table_group_allowed(g, "demo-chat", 9), "prefix wildcard");
    ok(sluice_table_group_allowed(g, "prod", 4), "exact name");
    ok(!sluice_table_group_allowed(g, "pro", 3), "no partial match");
    ok(!sluice_table_group_allowed(g, "prod2", 5), "no longer match");
    ok(!sluice_table_group_allowed(g, "demo", 4), "prefix needs its dash");

    g.p = "*";
    g.len = 1;
    ok(sluice_table_group_allowed(g, "anything", 8), "star allows all");

    g.p = "";
    g.len = 0;
    ok(!sluice_table_group_allowed(g, "x", 1), "empty allows none");
}


int
main(void)
{
    test_key();
    test_group();
    test_allowed();

    return tap_done();
}
