/*
 * Unit tests (TAP) for sluice_table: key and group records as controld
 * writes them (docs/CONTRACTS.md), malformed records, allow lists.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sluice_table.h"
#include "tap.h"


/*
 * The field splitter as it was (memchr per field), as an oracle for the
 * one-pass splitter: the same fields, the same verdicts.
 */
static const char *
ref_fields(const char *p, const char *end, sluice_span_t *f, size_t n)
{
    const char  *eol, *q;
    size_t       k;

    eol = memchr(p, '\n', (size_t) (end - p));
    if (eol == NULL) {
        eol = end;
    }

    for (k = 0; k < n; k++) {
        q = memchr(p, '\t', (size_t) (eol - p));
        if (q == NULL) {
            q = eol;
        }

        if (q == eol && k != n - 1) {
            return NULL;
        }

        f[k].p = p;
        f[k].len = (size_t) (q - p);
        p = q + 1;
    }

    if (p <= eol) {
        return NULL;
    }

    return (eol == end) ? end : eol + 1;
}



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


/* random lines of TABs, LFs and field bytes: key records and targets */
static void
test_split_oracle(void)
{
    int                    i, bad, rc, rrc, parsed;
    char                   buf[512];
    size_t                 len, k, n;
    const char            *pos, *rpos;
    sluice_span_t          f[13];
    sluice_table_key_t     key;
    sluice_table_target_t  t;

    bad = 0;
    parsed = 0;
    srand(5);

    for (i = 0; i < 200000; i++) {
        n = (i % 2) ? 8 : 13;
        len = (size_t) (rand() % 300);

        for (k = 0; k < len; k++) {
            switch (rand() % 12) {
            case 0:
                buf[k] = '\t';
                break;
            case 1:
                buf[k] = (rand() % 8 == 0) ? '\n' : '1';
                break;
            default:
                buf[k] = (char) ('a' + rand() % 26);
            }
        }

        buf[0] = (n == 8) ? '1' : 'T';
        buf[1] = '\t';

        if (n == 8) {
            rc = sluice_table_key_parse(buf, len, &key);
            rrc = ref_fields(buf, buf + len, f, 8) == NULL ? -1 : 0;

            /* the reference's verdict on the split; key parse adds checks */
            if (rc == 0 && (rrc != 0 || key.groups.len != f[7].len
                            || key.groups.p != f[7].p))
            {
                bad++;
            }

            if (rrc != 0 && rc == 0) {
                bad++;
            }

            continue;
        }

        pos = buf;
        rpos = ref_fields(buf, buf + len, f, 13);
        rc = sluice_table_target_next(&pos, buf + len, &t);
        parsed += (rc == 1);

        if (rc == 1 && (rpos == NULL || pos != rpos
                        || t.credential.p != f[12].p
                        || t.credential.len != f[12].len
                        || t.addr.p != f[7].p || t.addr.len != f[7].len))
        {
            bad++;
        }

        if (rpos == NULL && rc == 1) {
            bad++;
        }
    }

    printf("# %d target lines parsed\n", parsed);
    ok(bad == 0 && parsed > 100,
       "the one-pass splitter cuts as the memchr one did");
}


int
main(void)
{
    test_key();
    test_group();
    test_allowed();
    test_split_oracle();

    return tap_done();
}
