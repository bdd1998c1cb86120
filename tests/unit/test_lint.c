/*
 * Unit tests for the lints: each risky pattern gives exactly one warning at
 * the entry that causes it, and safe policies (including conf/corsd.yaml)
 * give none.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lint.h"
#include "unit.h"

/* Every snippet below follows these two lines; its first line is line 3. */
#define HEAD "upstream: \"http://127.0.0.1:9000\"\npolicies:\n"

struct want {
	int line, col;
	const char *has; /* a part of the message */
};

struct lint_case {
	const char *name;
	const char *yaml; /* the policies, after HEAD */
	size_t n;         /* warnings expected */
	struct want w[3];
};

/* Loads HEAD + yaml (which must load without any diagnostic), lints it, and
 * returns the number of warnings; d holds them. */
static size_t lint_yaml(const char *yaml, struct diag_list *d)
{
	size_t len = strlen(HEAD) + strlen(yaml);
	char *buf = malloc(len + 1);
	struct policy *p;
	size_t n;

	ck_assert_ptr_nonnull(buf);
	snprintf(buf, len + 1, "%s%s", HEAD, yaml);
	diag_init(d, "t.yaml");
	p = config_load_buffer("t.yaml", buf, len, d);
	ck_assert_msg(p != NULL && d->n == 0, "does not load cleanly:\n%s\nfirst: %s", buf,
	              d->n ? d->v[0].msg : "-");
	n = lint_policy(p, d);
	ck_assert_uint_eq(n, d->n);
	ck_assert_uint_eq(n, d->warnings);
	for (size_t i = 0; i < d->n; i++)
		ck_assert(d->v[i].warning);
	policy_unref(p);
	free(buf);
	return n;
}

static void check_case(const struct lint_case *c)
{
	struct diag_list d;
	size_t n = lint_yaml(c->yaml, &d);

	ck_assert_msg(n == c->n, "%s: %zu warnings, want %zu; first: %s", c->name, n, c->n,
	              n ? d.v[0].msg : "-");
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(d.v[i].line == c->w[i].line && d.v[i].col == c->w[i].col,
		              "%s: warning %zu at %d:%d, want %d:%d (%s)", c->name, i, d.v[i].line,
		              d.v[i].col, c->w[i].line, c->w[i].col, d.v[i].msg);
		ck_assert_msg(strstr(d.v[i].msg, c->w[i].has), "%s: \"%s\" lacks \"%s\"", c->name,
		              d.v[i].msg, c->w[i].has);
	}
	diag_free(&d);
}

/* ---- one warning per risky pattern ---- */

static const struct lint_case risky[] = {
    {"unescaped dots",
     "  - origins: ['~^https://app.example.com$']\n",
     1,
     {{3, 15,
       "origin \"~^https://app.example.com$\" accepts \"https://appxexample.com\" "
       "(a dot replaced: write \\\\. for a literal dot)"}}},
    {"any prefix",
     "  - origins: ['~^https://.*example\\.com$']\n",
     1,
     {{3, 15,
       "origin \"~^https://.*example\\\\.com$\" accepts \"https://evilexample.com\" "
       "(\"evil\" prepended"}}},
    {"quotes in the rule are escaped",
     "  - origins: ['~^https://\"?app.example.com$']\n",
     1,
     {{3, 15, "origin \"~^https://\\\"?app.example.com$\" accepts \"https://appxexample.com\""}}},
    {"any suffix, so any port too: one warning for both",
     "  - origins: ['~^https://app\\.example\\.com.*']\n",
     1,
     {{3, 15,
       "accepts \"https://app.example.com.evil.example\" (\".evil.example\" appended), "
       "\"https://app.example.com:8443\" (another port)"}}},
    {"another port",
     "  - origins: ['~^https://app\\.example\\.com.?[0-9]*$']\n",
     1,
     {{3, 15, "accepts \"https://app.example.com:8443\" (another port)"}}},
    {"http downgrade the text does not ask for",
     "  - origins: ['~^https*://app\\.example\\.com$']\n",
     1,
     {{3, 15, "accepts \"http://app.example.com\" (the http:// downgrade"}}},
    {"bare parent domain",
     "  - origins: ['~^https://(app\\.|)example\\.com$']\n",
     1,
     {{3, 15, "accepts \"https://example.com\" (the bare parent domain)"}}},
    {"dot replaced in a wss regex, with a port asked for",
     "  - origins: ['~^wss://ws.example.com(:[0-9]+)?$']\n",
     1,
     {{3, 15, "accepts \"wss://wsxexample.com\" (a dot replaced"}}},
    {"wildcard over shared hosting",
     "  - origins: [\"https://*.github.io\"]\n",
     1,
     {{3, 15, "\"https://*.github.io\": github.io is a public suffix or shared-hosting"}}},
    {"wildcard over a public suffix, any port",
     "  - origins:\n"
     "      - \"https://*.co.uk:*\"\n",
     1,
     {{4, 9, "co.uk is a public suffix"}}},
    {"http origin with credentials",
     "  - origins: [\"https://app.example.com\", \"http://app.example.com\"]\n"
     "    credentials: true\n",
     1,
     {{3, 42, "origin \"http://app.example.com\" is plain http with credentials: true"}}},
    {"http wildcard with credentials",
     "  - origins: [\"http://*.example.com\"]\n"
     "    credentials: true\n",
     1,
     {{3, 15, "\"http://*.example.com\" is plain http with credentials"}}},
    {"https? regex with credentials",
     "  - credentials: true\n"
     "    origins: ['~^https?://app\\.example\\.com$']\n",
     1,
     {{4, 15, "accepts plain http (\"http://app.example.com\") with credentials: true"}}},
    {"null with credentials",
     "  - origins: [\"https://app.example.com\", \"null\"]\n"
     "    credentials: true\n",
     1,
     {{3, 42, "origin \"null\" with credentials: true"}}},
    {"max_age above Chromium's cap",
     "  - origins: [\"https://app.example.com\"]\n"
     "    max_age: 7201\n",
     1,
     {{4, 14, "max_age: 7201 is above 7200, Chromium's cap"}}},
    {"headers * where origins are listed",
     "  - origins: [\"https://app.example.com\"]\n"
     "    headers: [\"*\"]\n",
     1,
     {{4, 15, "headers: [\"*\"] lets these origins send Authorization"}}},
    {"regex under shared hosting: anyone's site there",
     "  - origins: ['~^https://[a-z0-9-]+\\.herokuapp\\.com$']\n",
     1,
     {{3, 15, "accepts \"https://evila.herokuapp.com\" (\"evil\" prepended"}}},
    /* Sorted by position whatever the order of the keys. */
    {"several in one policy, in file order",
     "  - max_age: 86400\n"
     "    headers: [\"*\"]\n"
     "    origins: ['~^https://app.example.com$']\n",
     3,
     {{3, 14, "max_age: 86400"},
      {4, 15, "headers: [\"*\"]"},
      {5, 15, "\"https://appxexample.com\""}}},
};

START_TEST(test_risky)
{
	check_case(&risky[_i]);
}
END_TEST

/* ---- nothing to say ---- */

static const char *const safe[] = {
    "  - origins: [\"https://app.example.com\", \"https://admin.example.com:8443\"]\n"
    "    credentials: true\n"
    "    headers: [Authorization, Content-Type]\n"
    "    max_age: 7200\n",
    "  - origins: [\"https://*.example.com\", \"https://*.example.com:*\", "
    "\"wss://*.preview.example.com\"]\n"
    "    credentials: true\n",
    /* Escaped, anchored or not (corsd anchors), alternatives, optional port. */
    "  - origins:\n"
    "      - '~^https://(app|admin)\\.example\\.org$'\n"
    "      - '~^https://(eu|us)-[0-9]+\\.app\\.example\\.com$'\n"
    "      - '~https://app\\.example\\.net'\n"
    "      - '~^https://.*\\.example\\.com$'\n"
    "      - '~^https://(.*\\.)?example\\.com$'\n"
    "      - '~^https://[a-z]+\\.example\\.com(:[0-9]+)?$'\n"
    "      - '~^https://[^.]+\\.example\\.com$'\n"
    "      - '~^https://[[:alnum:]-]+\\.example\\.com$'\n"
    "      - '~^http://localhost:[0-9]+$'\n"
    "    credentials: true\n",
    /* http asked for by name, without credentials. */
    "  - origins: ['~^https?://app\\.example\\.com$', '~^(http|https)://b\\.example\\.com$', "
    "\"http://app.example.com\", '~^http(s)?://c\\.example\\.com$', "
    "'~^http[s]?://d\\.example\\.com$']\n",
    /* The public API case: "*", any header, the longest Chromium honours. */
    "  - origins: [\"*\"]\n"
    "    headers: [\"*\"]\n"
    "    expose_headers: [\"*\"]\n"
    "    max_age: 7200\n",
    "  - origins: [\"null\", \"https://app.example.com\"]\n",
    /* Loopback is potentially trustworthy: plain http is fine there. */
    "  - origins: [\"http://localhost:3000\", \"http://127.0.0.1:8080\", \"http://[::1]:5173\", "
    "\"http://app.localhost\", \"http://*.dev.localhost:*\"]\n"
    "    credentials: true\n",
    /* Below a shared-hosting domain, one's own subdomains are fine. */
    "  - origins: [\"https://*.alice.github.io\", \"https://alice.github.io\", "
    "\"https://example.co.uk\"]\n"
    "    credentials: true\n",
    /* Best effort: a regex no sample can be derived from is left alone,
     * here the unescaped dots of one whose first character is a negated
     * bracket, and of one nested deeper than any origin needs. */
    "  - origins: ['~^https://[^a-z]pp.example.com$', "
    "'~^https://((((((((((((((((((((((((((((((((((app))))))))))))))))))))))))))))))))))"
    ".example.com$']\n",
    /* Intervals: {0} drops its atom, {2} keeps it. */
    "  - origins: ['~^https://a{0}b\\.example\\.com$', '~^https://w{3}\\.example\\.com$']\n",
};

START_TEST(test_safe)
{
	struct diag_list d;
	size_t n = lint_yaml(safe[_i], &d);

	ck_assert_msg(n == 0, "case %d: %zu warnings; first: %d:%d: %s", _i, n, n ? d.v[0].line : 0,
	              n ? d.v[0].col : 0, n ? d.v[0].msg : "-");
	diag_free(&d);
}
END_TEST

/* ---- files ---- */

static size_t lint_file(const char *file, struct diag_list *d)
{
	struct policy *p;
	size_t n;

	diag_init(d, file);
	p = config_load_file(file, d);
	ck_assert_msg(p != NULL, "%s does not load", file);
	ck_assert_uint_eq(d->errors, 0);
	ck_assert_uint_eq(d->warnings, 0);
	n = lint_policy(p, d);
	policy_unref(p);
	return n;
}

START_TEST(test_shipped_example_is_clean)
{
	struct diag_list d;
	size_t n = lint_file(CORSD_TEST_DATA "/../../conf/corsd.yaml", &d);

	ck_assert_msg(n == 0, "conf/corsd.yaml: %d:%d: %s", n ? d.v[0].line : 0, n ? d.v[0].col : 0,
	              n ? d.v[0].msg : "-");
	diag_free(&d);
}
END_TEST

/* tests/data/config/lints.yaml: one warning per risky entry, in order. */
START_TEST(test_lints_file)
{
	static const struct want w[] = {
	    {11, 9, "\"https://appxexample.com\" (a dot replaced"},
	    {12, 9, "\"https://evilexample.com\" (\"evil\" prepended"},
	    {13, 9, "\".evil.example\" appended), \"https://app.example.com:8443\" (another port)"},
	    {14, 9, "github.io is a public suffix"},
	    {25, 9, "\"http://app.example.com\" is plain http with credentials: true"},
	    {26, 9, "origin \"null\" with credentials: true"},
	    {33, 14, "max_age: 86400 is above 7200"},
	    {38, 15, "headers: [\"*\"] lets these origins send Authorization"},
	};
	struct diag_list d;
	size_t n = lint_file(CORSD_TEST_DATA "/config/lints.yaml", &d);

	ck_assert_uint_eq(n, sizeof(w) / sizeof(w[0]));
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(d.v[i].line == w[i].line && d.v[i].col == w[i].col,
		              "warning %zu at %d:%d, want %d:%d (%s)", i, d.v[i].line, d.v[i].col,
		              w[i].line, w[i].col, d.v[i].msg);
		ck_assert_msg(strstr(d.v[i].msg, w[i].has), "\"%s\" lacks \"%s\"", d.v[i].msg,
		              w[i].has);
	}
	diag_free(&d);
}
END_TEST

/* An entry shared through a YAML alias is one place in the file: one
 * warning, not one per policy that uses it. */
START_TEST(test_alias_reported_once)
{
	struct diag_list d;
	size_t n = lint_yaml("  - path: /a\n"
	                     "    origins: &o ['~^https://app.example.com$']\n"
	                     "  - path: /b\n"
	                     "    origins: *o\n",
	                     &d);

	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(d.v[0].line, 4);
	diag_free(&d);
}
END_TEST

START_TEST(test_public_suffix_list)
{
	ck_assert(lint_is_public_suffix("github.io", 9));
	ck_assert(lint_is_public_suffix("co.uk", 5));
	ck_assert(lint_is_public_suffix("s3.amazonaws.com", 16));
	ck_assert(!lint_is_public_suffix("example.com", 11));
	ck_assert(!lint_is_public_suffix("alice.github.io", 15));
	ck_assert(!lint_is_public_suffix("github.io", 6)); /* "github" */
	ck_assert(!lint_is_public_suffix("", 0));
}
END_TEST

START_TEST(test_null_policy)
{
	struct diag_list d;

	diag_init(&d, "x");
	ck_assert_uint_eq(lint_policy(NULL, &d), 0);
	ck_assert_uint_eq(d.n, 0);
	diag_free(&d);
}
END_TEST

static Suite *lint_suite(void)
{
	Suite *s = suite_create("lint");
	TCase *tc = tcase_create("lint");

	tcase_add_loop_test(tc, test_risky, 0, (int)(sizeof(risky) / sizeof(risky[0])));
	tcase_add_loop_test(tc, test_safe, 0, (int)(sizeof(safe) / sizeof(safe[0])));
	tcase_add_test(tc, test_shipped_example_is_clean);
	tcase_add_test(tc, test_lints_file);
	tcase_add_test(tc, test_alias_reported_once);
	tcase_add_test(tc, test_public_suffix_list);
	tcase_add_test(tc, test_null_policy);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(lint_suite());
}
