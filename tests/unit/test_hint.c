/*
 * Denial hints as a table: one row per kind of near miss (port, scheme,
 * host, wildcard parent and non-subdomain, regex, nothing close, invalid
 * origins, method case, header near miss), each with the exact sentence.
 * Then the bounded edit distance and the writer's escaping and cutting.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "hint.h"
#include "unit.h"

static const char POLICY[] =
    "upstream: http://127.0.0.1:9000\n"
    "policies:\n"
    "  - name: api\n"
    "    path: /api\n"
    "    origins: [\"http://localhost:3000\", \"https://app.example.com\",\n"
    "              \"https://admin.example.com:8443\", \"http://[::1]:3000\"]\n"
    "    methods: [GET, HEAD, POST, PUT]\n"
    "    headers: [Content-Type, X-Request-ID]\n"
    "  - name: wild\n"
    "    path: /wild\n"
    "    origins: [\"https://*.example.com\", \"null\"]\n"
    "  - name: anyport\n"
    "    path: /anyport\n"
    "    origins: [\"https://*.example.com:*\"]\n"
    "  - name: regex\n"
    "    path: /regex\n"
    "    origins: [\"~^https://(app|admin)\\\\.example\\\\.org$\", \"https://other.test\"]\n"
    "  - name: one\n"
    "    path: /one\n"
    "    origins: [\"https://app.example.com\"]\n"
    "    headers: []\n"
    "  - name: nulls\n"
    "    path: /nulls\n"
    "    origins: [\"null\"]\n";

static struct policy *policy;

static void setup(void)
{
	policy = unit_policy("hint.yaml", POLICY);
}

static void teardown(void)
{
	policy_unref(policy);
}

static const struct policy_rule *rule(const char *name)
{
	for (size_t i = 0; i < policy->nrules; i++)
		if (strcmp(policy->rules[i].name, name) == 0)
			return &policy->rules[i];
	ck_abort_msg("no policy %s", name);
	return NULL;
}

struct origin_row {
	const char *policy, *origin;
	unsigned lines;
	const char *want;
};

#define NOT_ALLOWED(o) "origin `" o "` not allowed: "

static const struct origin_row origin_rows[] = {
    /* Same host: scheme and port. */
    {"api", "http://localhost:5173", 1,
     NOT_ALLOWED("http://localhost:5173") "closest entry `http://localhost:3000` differs in "
                                          "port (5173 vs 3000)"},
    {"api", "http://app.example.com", 1,
     NOT_ALLOWED("http://app.example.com") "closest entry `https://app.example.com` differs in "
                                           "scheme (http vs https)"},
    {"api", "https://localhost:3000", 1,
     NOT_ALLOWED("https://localhost:3000") "closest entry `http://localhost:3000` differs in "
                                           "scheme (https vs http)"},
    {"api", "http://admin.example.com", 1,
     NOT_ALLOWED("http://admin.example.com") "closest entry `https://admin.example.com:8443` "
                                             "differs in scheme (http vs https) and port (80 vs "
                                             "8443)"},
    {"api", "https://app.example.com:8443", 1,
     NOT_ALLOWED("https://app.example.com:8443") "closest entry `https://app.example.com` differs "
                                                 "in port (8443 vs 443)"},
    /* A default port written out is the same origin, so it is not "a
     * different port": http://x:443 and https://x differ in scheme. */
    {"api", "http://app.example.com:443", 1,
     NOT_ALLOWED("http://app.example.com:443") "closest entry `https://app.example.com` differs "
                                               "in scheme (http vs https)"},
    {"api", "http://[::1]:5173", 1,
     NOT_ALLOWED("http://[::1]:5173") "closest entry `http://[::1]:3000` differs in port (5173 "
                                      "vs 3000)"},
    /* Hosts. */
    {"api", "https://app.example.org", 1,
     NOT_ALLOWED("https://app.example.org") "closest entry `https://app.example.com` differs in "
                                            "host (app.example.org vs app.example.com)"},
    {"api", "https://api.example.com", 1,
     NOT_ALLOWED("https://api.example.com") "closest entry `https://app.example.com` differs in "
                                            "host (api.example.com vs app.example.com)"},
    {"api", "https://app.example.com.evil.net", 1,
     NOT_ALLOWED("https://app.example.com.evil.net") "closest entry `https://app.example.com` "
                                                     "differs in host (app.example.com.evil.net "
                                                     "vs app.example.com)"},
    {"api", "https://app.exmaple.com", 1,
     NOT_ALLOWED("https://app.exmaple.com") "closest entry `https://app.example.com` differs in "
                                            "host (app.exmaple.com vs app.example.com)"},
    {"api", "http://127.0.0.1:3000", 1,
     NOT_ALLOWED("http://127.0.0.1:3000") "closest entry `http://localhost:3000` differs in host "
                                          "(127.0.0.1 vs localhost)"},
    {"api", "https://evil.test", 1,
     NOT_ALLOWED("https://evil.test") "none of the policy's 4 origin entries is close"},
    /* Wildcards. */
    {"wild", "https://example.com", 1,
     NOT_ALLOWED("https://example.com") "closest entry `https://*.example.com` does not cover "
                                        "the bare parent domain example.com"},
    {"wild", "https://evil-example.com", 1,
     NOT_ALLOWED("https://evil-example.com") "closest entry `https://*.example.com` does not "
                                             "cover it: evil-example.com is not a subdomain of "
                                             "example.com"},
    {"wild", "http://a.example.com", 1,
     NOT_ALLOWED("http://a.example.com") "closest entry `https://*.example.com` differs in "
                                         "scheme (http vs https)"},
    {"wild", "https://a.example.com:8443", 1,
     NOT_ALLOWED("https://a.example.com:8443") "closest entry `https://*.example.com` differs in "
                                               "port (8443 vs 443)"},
    {"wild", "http://example.com", 1,
     NOT_ALLOWED("http://example.com") "closest entry `https://*.example.com` does not cover the "
                                       "bare parent domain example.com, and differs in scheme "
                                       "(http vs https)"},
    {"wild", "https://nowhere.test", 1,
     NOT_ALLOWED("https://nowhere.test") "closest entry `https://*.example.com` does not cover "
                                         "it: nowhere.test is not a subdomain of example.com"},
    {"anyport", "http://a.example.com:8080", 1,
     NOT_ALLOWED("http://a.example.com:8080") "closest entry `https://*.example.com:*` differs in "
                                              "scheme (http vs https)"},
    /* Regexes: named when they spell the domain, else passed over. */
    {"regex", "https://api.example.org", 1,
     NOT_ALLOWED(
         "https://api.example.org") "closest entry `~^https://(app|admin)\\.example\\.org$` "
                                    "is a regex that does not match it"},
    {"regex", "https://other.test:8443", 1,
     NOT_ALLOWED("https://other.test:8443") "closest entry `https://other.test` differs in port "
                                            "(8443 vs 443)"},
    /* A lone entry is always named. */
    {"one", "https://evil.test", 1,
     NOT_ALLOWED("https://evil.test") "closest entry `https://app.example.com` differs in host "
                                      "(evil.test vs app.example.com)"},
    {"nulls", "https://x.test", 1,
     NOT_ALLOWED("https://x.test") "the policy lists no origin to compare it with"},
    {"api", "null", 1, NOT_ALLOWED("null") "the opaque origin is allowed only by a \"null\" entry"},
    /* Invalid origins are never echoed. */
    {"api", "https://app.example.com/", 1,
     "origin not allowed: the Origin header is not one serialized origin (scheme://host[:port])"},
    {"api", "https://u@app.example.com\r\nX-Evil: 1", 1,
     "origin not allowed: the Origin header is not one serialized origin (scheme://host[:port])"},
    {"api", "https://app.example.com", 2,
     "origin not allowed: 2 Origin header lines, where one is expected"},
};

START_TEST(test_origin_table)
{
	const struct origin_row *row = &origin_rows[_i];
	char buf[HINT_MAX];
	size_t n =
	    hint_origin(rule(row->policy), str_c(row->origin), row->lines, NULL, buf, sizeof(buf));

	ck_assert_msg(strcmp(buf, row->want) == 0, "%s %s:\n got %s\nwant %s", row->policy,
	              row->origin, buf, row->want);
	ck_assert_uint_eq(n, strlen(buf));
}
END_TEST

struct list_row {
	const char *policy, *name, *want;
	bool header;
};

static const struct list_row list_rows[] = {
    {"api", "PATCH", "method `PATCH` not allowed: not in methods [GET, HEAD, POST, PUT]", false},
    {"api", "put",
     "method `put` not allowed: not in methods [GET, HEAD, POST, PUT]; methods compare "
     "case-sensitively: `put` is not `PUT`",
     false},
    {"wild", "delete", "method `delete` not allowed: not in methods [GET, HEAD, POST]", false},
    {"wild", "get",
     "method `get` not allowed: not in methods [GET, HEAD, POST]; methods compare "
     "case-sensitively: `get` is not `GET`",
     false},
    {"api", "PU T", "method not allowed: Access-Control-Request-Method is not a token", false},
    {"api", "X-Foo", "header `X-Foo` not allowed: not in headers [Content-Type, X-Request-ID]",
     true},
    {"api", "X-Requestid",
     "header `X-Requestid` not allowed: not in headers [Content-Type, X-Request-ID]; "
     "`X-Request-ID` is 1 edit away",
     true},
    {"api", "content-typo",
     "header `content-typo` not allowed: not in headers [Content-Type, X-Request-ID]; "
     "`Content-Type` is 1 edit away",
     true},
    {"api", "X-Requests-Ids",
     "header `X-Requests-Ids` not allowed: not in headers [Content-Type, X-Request-ID]; "
     "`X-Request-ID` is 2 edits away",
     true},
    {"one", "X-Foo", "header `X-Foo` not allowed: not in headers []", true},
};

START_TEST(test_list_table)
{
	const struct list_row *row = &list_rows[_i];
	char buf[HINT_MAX];

	if (row->header)
		hint_header(rule(row->policy), str_c(row->name), buf, sizeof(buf));
	else
		hint_method(rule(row->policy), str_c(row->name), buf, sizeof(buf));
	ck_assert_msg(strcmp(buf, row->want) == 0, "%s:\n got %s\nwant %s", row->name, buf,
	              row->want);
}
END_TEST

START_TEST(test_long_origin_is_cut)
{
	char origin[600], buf[HINT_MAX];
	size_t n;

	memcpy(origin, "https://", 8);
	memset(origin + 8, 'a', 480);
	memcpy(origin + 488, ".example.com", 13);
	n = hint_origin(rule("api"), str_c(origin), 1, NULL, buf, sizeof(buf));
	ck_assert_uint_lt(n, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "...` not allowed: "));
	ck_assert_ptr_null(strchr(buf, '\n'));

	/* A buffer too small ends in "...", still NUL-terminated. */
	n = hint_origin(rule("api"), STR_LIT("http://localhost:5173"), 1, NULL, buf, 24);
	ck_assert_uint_eq(n, 23);
	ck_assert_str_eq(buf, "origin `http://local...");
}
END_TEST

struct dist_row {
	const char *a, *b;
	bool ci;
	unsigned max, want;
};

static const struct dist_row dist_rows[] = {
    {"", "", false, 2, 0},
    {"abc", "abc", false, 2, 0},
    {"kitten", "sitting", false, 5, 3},
    {"kitten", "sitting", false, 2, 3}, /* over max: max + 1 */
    {"X-Request-ID", "x-requestid", true, 2, 1},
    {"X-Request-ID", "x-requestid", false, 2, 3},
    {"abc", "", false, 3, 3},
    {"abcdef", "a", false, 2, 3},
    {"example.com", "exmaple.com", false, 3, 2},
    {"flaw", "lawn", false, 4, 2},
};

START_TEST(test_distance)
{
	const struct dist_row *r = &dist_rows[_i];

	ck_assert_uint_eq(hint_distance(str_c(r->a), str_c(r->b), r->ci, r->max), r->want);
	ck_assert_uint_eq(hint_distance(str_c(r->b), str_c(r->a), r->ci, r->max), r->want);
}
END_TEST

START_TEST(test_distance_long_is_far)
{
	static char a[300], b[300];

	memset(a, 'a', sizeof(a) - 1);
	memset(b, 'a', sizeof(b) - 1);
	ck_assert_uint_eq(hint_distance(str_c(a), str_c(b), false, 3), 4);
}
END_TEST

START_TEST(test_put_safe_escapes_and_cuts)
{
	char buf[64];
	struct hint_buf b;

	hint_buf_init(&b, buf, sizeof(buf));
	hint_put_safe(&b, STR_LIT("a\r\nb\x7f\xc3\xa9"), 64);
	ck_assert_str_eq(buf, "a\\x0d\\x0ab\\x7f\\xc3\\xa9");
	hint_buf_init(&b, buf, sizeof(buf));
	hint_put_safe(&b, STR_LIT("abcdef"), 3);
	ck_assert_str_eq(buf, "abc...");
	hint_buf_init(&b, buf, 8);
	hint_puts(&b, "0123456789");
	hint_puts(&b, "more");
	ck_assert(b.cut);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_str_eq(buf, "0123...");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hint");
	TCase *tc = tcase_create("hint");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_origin_table, 0,
	                    (int)(sizeof(origin_rows) / sizeof(origin_rows[0])));
	tcase_add_loop_test(tc, test_list_table, 0,
	                    (int)(sizeof(list_rows) / sizeof(list_rows[0])));
	tcase_add_test(tc, test_long_origin_is_cut);
	tcase_add_loop_test(tc, test_distance, 0, (int)(sizeof(dist_rows) / sizeof(dist_rows[0])));
	tcase_add_test(tc, test_distance_long_is_far);
	tcase_add_test(tc, test_put_safe_escapes_and_cuts);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
