#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "origin.h"
#include "unit.h"

/* Explicit lengths, so a NUL inside a literal is part of the value. */
#define S(lit) ((struct str){(lit), sizeof(lit) - 1})

/* ---- origin_normalize ---- */

static const struct norm_ok {
	struct str raw;
	const char *want;
	int port;
	size_t host_len;
} norm_ok[] = {
    {S("https://example.com"), "https://example.com", -1, 11},
    {S("HTTPS://API.EXAMPLE.COM"), "https://api.example.com", -1, 15},
    {S("https://A.Example:443"), "https://a.example", -1, 9},
    {S("http://a.example:80"), "http://a.example", -1, 9},
    {S("ws://a:80"), "ws://a", -1, 1},
    {S("wss://a:443"), "wss://a", -1, 1},
    {S("http://a.example:443"), "http://a.example:443", 443, 9},
    {S("https://a.example:80"), "https://a.example:80", 80, 9},
    {S("https://a.example:08080"), "https://a.example:8080", 8080, 9},
    {S("https://a.example:00443"), "https://a.example", -1, 9},
    {S("https://a.example:65535"), "https://a.example:65535", 65535, 9},
    {S("http://localhost:3000"), "http://localhost:3000", 3000, 9},
    /* Trailing dot: kept, so it never equals the name without it. */
    {S("https://example.com."), "https://example.com.", -1, 12},
    {S("https://exa_mple-1.com"), "https://exa_mple-1.com", -1, 14},
    {S("http://127.0.0.1:8080"), "http://127.0.0.1:8080", 8080, 9},
    {S("http://[::1]"), "http://[::1]", -1, 5},
    {S("http://[::1]:8080"), "http://[::1]:8080", 8080, 5},
    {S("http://[::1]:80"), "http://[::1]", -1, 5},
    {S("https://[2001:DB8::1]"), "https://[2001:db8::1]", -1, 13},
    {S("http://[::ffff:1.2.3.4]"), "http://[::ffff:1.2.3.4]", -1, 16},
    {S("chrome-extension://abcdef"), "chrome-extension://abcdef", -1, 6},
    {S("Git+SSH.x-y://h"), "git+ssh.x-y://h", -1, 1},
};

START_TEST(test_normalize_ok)
{
	const struct norm_ok *c = &norm_ok[_i];
	struct origin_norm o;

	ck_assert_int_eq(origin_normalize(c->raw, &o), 0);
	ck_assert(!o.is_null);
	ck_assert_str_eq(o.buf, c->want);
	ck_assert_uint_eq(o.len, strlen(c->want));
	ck_assert_int_eq(o.port, c->port);
	ck_assert_uint_eq(o.scheme_len, (size_t)(strstr(c->want, "://") - c->want));
	ck_assert_uint_eq(o.host_off, o.scheme_len + 3);
	ck_assert_uint_eq(o.host_len, c->host_len);
	/* Whatever follows the host is exactly the kept port. */
	if (c->port < 0)
		ck_assert_uint_eq(o.host_off + o.host_len, o.len);
	else
		ck_assert_int_eq(o.buf[o.host_off + o.host_len], ':');
}
END_TEST

static const struct str norm_bad[] = {
    S(""),
    S("example.com"),
    S("//example.com"),
    S("https:/example.com"),
    S("https:example.com"),
    S("1https://a.com"),
    S("ht tp://a.com"),
    S("https://"),
    S("https://:443"),
    S("https://."),
    S("https://.example.com"),
    S("https://example..com"),
    S("https://user@example.com"),
    S("https://user:pw@example.com"),
    S("https://example.com@evil.net"),
    S("https://a.com/"),
    S("https://a.com/x"),
    S("https://a.com:443/"),
    S("https://a.com?x"),
    S("https://a.com#x"),
    S("https://a.com https://b.com"),
    S("https://a.com, https://b.com"),
    S("https://a.com,https://b.com"),
    S(" https://a.com"),
    S("https://a.com "),
    S("https://a.com\t"),
    S("https://a.com\r\nX-Evil: 1"),
    S("https://a.com\n"),
    S("https://a\r.com"),
    S("https://a.com\0.evil.net"),
    S("\0https://a.com"),
    S("https://a.com\x7f"),
    S("https://%61.com"),
    S("https://a.com%2f"),
    S("https://caf\xc3\xa9.com"),
    S("https://a.com:"),
    S("https://a.com:0"),
    S("https://a.com:65536"),
    S("https://a.com:99999"),
    S("https://a.com:000443"),
    S("https://a.com:8a"),
    S("https://a.com:-1"),
    S("https://a.com:+80"),
    S("https://a.com:80:80"),
    S("https://a.com:*"),
    S("https://*.a.com"),
    S("https://a!.com"),
    S("http://::1"),
    S("http://[::1"),
    S("http://[]"),
    S("http://[::g]"),
    S("http://[1.2.3.4]"),
    S("http://[fe80::1%25eth0]"),
    S("http://[::1]x"),
    S("http://[::1]:"),
    S("NULL"),
    S("Null"),
    S("null "),
    S("nul"),
    S("null\0"),
};

START_TEST(test_normalize_bad)
{
	struct origin_norm o;

	ck_assert_msg(origin_normalize(norm_bad[_i], &o) == -1, "accepted case %d", _i);
}
END_TEST

START_TEST(test_normalize_null)
{
	struct origin_norm o;

	ck_assert_int_eq(origin_normalize(S("null"), &o), 0);
	ck_assert(o.is_null);
	ck_assert_str_eq(o.buf, "null");
	ck_assert_uint_eq(o.len, 4);
	ck_assert_int_eq(o.port, -1);
	ck_assert_int_eq(origin_normalize(STR_NULL, &o), -1);
}
END_TEST

START_TEST(test_normalize_length)
{
	char raw[ORIGIN_MAX + 2];
	struct origin_norm o;

	memcpy(raw, "https://", 8);
	memset(raw + 8, 'a', sizeof(raw) - 8);
	ck_assert_int_eq(origin_normalize((struct str){raw, ORIGIN_MAX}, &o), 0);
	ck_assert_uint_eq(o.len, ORIGIN_MAX);
	ck_assert_uint_eq(strlen(o.buf), ORIGIN_MAX);
	ck_assert_int_eq(origin_normalize((struct str){raw, ORIGIN_MAX + 1}, &o), -1);
}
END_TEST

/* ---- rules: parse ---- */

static const struct parse_ok {
	const char *text;
	enum origin_rule_kind kind;
	const char *exact;
	const char *scheme;
	const char *suffix;
	int port;
} parse_ok[] = {
    {"*", ORIGIN_RULE_ANY, NULL, NULL, NULL, -1},
    {"null", ORIGIN_RULE_NULL, NULL, NULL, NULL, -1},
    {"https://A.Example:443", ORIGIN_RULE_EXACT, "https://a.example", NULL, NULL, -1},
    {"http://localhost:3000", ORIGIN_RULE_EXACT, "http://localhost:3000", NULL, NULL, -1},
    {"https://*.example.com", ORIGIN_RULE_WILDCARD, NULL, "https", ".example.com", -1},
    {"HTTPS://*.Example.COM:*", ORIGIN_RULE_WILDCARD, NULL, "https", ".example.com", 0},
    {"https://*.example.com:8443", ORIGIN_RULE_WILDCARD, NULL, "https", ".example.com", 8443},
    {"https://*.example.com:443", ORIGIN_RULE_WILDCARD, NULL, "https", ".example.com", -1},
    {"http://*.a.b.example.com", ORIGIN_RULE_WILDCARD, NULL, "http", ".a.b.example.com", -1},
    {"~https://x\\.example\\.org", ORIGIN_RULE_REGEX, NULL, NULL, NULL, -1},
    {"~^https://x\\.example\\.org$", ORIGIN_RULE_REGEX, NULL, NULL, NULL, -1},
    {"~https://x\\.example\\.org\\$", ORIGIN_RULE_REGEX, NULL, NULL, NULL, -1},
    {"~https://[a-z)(]+\\.example\\.org", ORIGIN_RULE_REGEX, NULL, NULL, NULL, -1},
    /* DNS-like counts stay far below the expansion cap. */
    {"~^https://([a-z0-9-]{1,63}\\.){1,4}example\\.com(:[0-9]{1,5})?$", ORIGIN_RULE_REGEX, NULL,
     NULL, NULL, -1},
    {"~^https://(a{1,30}){1,30}\\.example\\.com$", ORIGIN_RULE_REGEX, NULL, NULL, NULL, -1},
};

static void assert_opt_str(const char *got, const char *want)
{
	if (want)
		ck_assert_str_eq(got, want);
	else
		ck_assert_ptr_null(got);
}

START_TEST(test_rule_parse_ok)
{
	const struct parse_ok *c = &parse_ok[_i];
	struct origin_rule r;
	char err[256] = "";

	ck_assert_msg(origin_rule_parse(c->text, &r, err, sizeof(err)) == 0, "%s: %s", c->text,
	              err);
	ck_assert_int_eq(r.kind, c->kind);
	ck_assert_str_eq(r.text, c->text);
	ck_assert_ptr_ne(r.text, c->text);
	assert_opt_str(r.exact, c->exact);
	assert_opt_str(r.scheme, c->scheme);
	assert_opt_str(r.suffix, c->suffix);
	if (c->kind == ORIGIN_RULE_WILDCARD)
		ck_assert_int_eq(r.port, c->port);
	ck_assert(r.has_re == (c->kind == ORIGIN_RULE_REGEX));
	origin_rule_free(&r);
	ck_assert_ptr_null(r.text);
	ck_assert(!r.has_re);
	origin_rule_free(&r);
}
END_TEST

static const struct parse_bad {
	const char *text;
	const char *msg; /* must appear in the error */
} parse_bad[] = {
    {"", "not a valid origin"},
    {"https://*example.com", "first label"},
    {"https://a.*.example.com", "first label"},
    {"*.example.com", "scheme"},
    {"https://*", "first label"},
    {"https://*.", "trailing dot"},
    {"https://*.com", "too broad"},
    {"https://*.*.example.com", "only one"},
    {"https://*.example.*", "only one"},
    {"https://*.example.com:8*", "only one"},
    {"*://example.com", "first label"},
    {"ht*ps://*.example.com", "first label"},
    {"https://example.com:*", "first label"},
    {"https://*.example.com/", "has a path"},
    {"https://*.example.com.", "trailing dot"},
    {"https://*.example.com:", "empty port"},
    {"https://*.example.com:0", "port out of range"},
    {"https://*.example.com:99999", "port out of range"},
    {"https://*.example.com:123456", "more than 5 digits"},
    {"https://*.exa mple.com", "space"},
    {"https://*.[::1]", "invalid"},
    {"https://a.com/", "has a path"},
    {"https://a.com/api", "has a path"},
    {"https://a.com?q", "query"},
    {"https://user@a.com", "userinfo"},
    {"https://a.com https://b.com", "space"},
    {"https://a.com,https://b.com", "comma"},
    {"https://a.com\r\n", "control character"},
    {"https://a\n.com", "control character"},
    {"https://a.com\x01", "control character"},
    {"https://a.com:65536", "out of range"},
    {"https://a%2ecom", "percent"},
    {"https://", "empty host"},
    {"https://a..com", "empty label"},
    {"example.com", "scheme://host"},
    {"NULL", "lowercase"},
    {"Null", "lowercase"},
    {"~(", "invalid regex: "},
    {"~a)|(b", "invalid regex: "},
    {"~[a-", "invalid regex: "},
    {"~a{2", "invalid regex: "},
    {"~", "invalid regex: empty"},
    {"~^$", "invalid regex: empty"},
    /* Nested counts that would make regcomp run for seconds to minutes. */
    {"~^.{0,255}{0,255}$", "too large"},
    {"~^(.{0,100}){0,100}$", "too large"},
    {"~^((a{1,20}){1,20}){1,20}$", "too large"},
    {"~^a{0,32767}$", "too large"},
    /* Compiles once wrapped, as "^(https://a\.com)|(.*)$": must be refused. */
    {"~https://a\\.com)|(.*", "anchoring"},
    {"~^https://a\\.com)|(.*$", "anchoring"},
};

START_TEST(test_rule_parse_bad)
{
	const struct parse_bad *c = &parse_bad[_i];
	struct origin_rule r;
	char err[256] = "";

	ck_assert_msg(origin_rule_parse(c->text, &r, err, sizeof(err)) == -1, "accepted %s",
	              c->text);
	ck_assert_msg(strstr(err, c->msg) != NULL, "%s: error \"%s\" lacks \"%s\"", c->text, err,
	              c->msg);
	/* A failed parse leaves nothing to free, and freeing is still safe. */
	ck_assert_ptr_null(r.text);
	ck_assert_ptr_null(r.exact);
	ck_assert_ptr_null(r.scheme);
	ck_assert_ptr_null(r.suffix);
	ck_assert(!r.has_re);
	origin_rule_free(&r);
}
END_TEST

/* regerror's own words reach the author. */
START_TEST(test_rule_regex_error_text)
{
	struct origin_rule r;
	regex_t re;
	char err[256] = "", want[128];
	int rc = regcomp(&re, "^(a{2)$", REG_EXTENDED | REG_NOSUB);

	ck_assert_int_ne(rc, 0);
	regerror(rc, &re, want, sizeof(want));
	ck_assert_int_eq(origin_rule_parse("~a{2", &r, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "\"%s\" lacks \"%s\"", err, want);
}
END_TEST

START_TEST(test_rule_parse_too_long)
{
	char text[ORIGIN_MAX + 16];
	struct origin_rule r;
	char err[256];

	memcpy(text, "https://", 8);
	memset(text + 8, 'a', ORIGIN_MAX - 8);
	text[ORIGIN_MAX] = '\0';
	ck_assert_int_eq(origin_rule_parse(text, &r, err, sizeof(err)), 0);
	origin_rule_free(&r);
	strcpy(text + ORIGIN_MAX, "a");
	ck_assert_int_eq(origin_rule_parse(text, &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer"));

	memcpy(text, "https://*.", 10);
	memset(text + 10, 'a', ORIGIN_MAX - 14);
	strcpy(text + ORIGIN_MAX - 4, ".com");
	ck_assert_int_eq(origin_rule_parse(text, &r, err, sizeof(err)), 0);
	origin_rule_free(&r);
	strcpy(text + ORIGIN_MAX - 4, ".coma");
	ck_assert_int_eq(origin_rule_parse(text, &r, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "longer"));
}
END_TEST

/* ---- rules: match ---- */

static const struct match_case {
	const char *rule;
	const char *origin;
	bool want;
} match_cases[] = {
    {"*", "https://example.com", true},
    {"*", "null", true},
    {"null", "null", true},
    {"null", "https://null", false},
    {"null", "https://example.com", false},

    {"https://example.com", "https://example.com", true},
    {"https://example.com", "HTTPS://EXAMPLE.COM", true},
    {"https://example.com", "https://example.com:443", true},
    {"https://example.com:443", "https://example.com", true},
    {"https://A.Example:443", "https://a.example", true},
    {"https://example.com", "https://example.com.", false},
    {"https://example.com.", "https://example.com", false},
    {"https://example.com.", "https://example.com.", true},
    {"https://example.com", "https://example.com.evil.net", false},
    {"https://example.com", "https://evilexample.com", false},
    {"https://example.com", "https://a.example.com", false},
    {"https://example.com", "http://example.com", false},
    {"http://example.com", "https://example.com", false},
    {"https://example.com", "https://example.com:8443", false},
    {"https://example.com", "wss://example.com", false},
    {"https://example.com", "null", false},
    {"http://localhost:3000", "http://localhost:3000", true},
    {"http://localhost:3000", "http://localhost", false},
    {"http://localhost:3000", "http://localhost:30000", false},
    {"http://localhost:3000", "http://localhost:300", false},
    {"http://[::1]:8080", "http://[::1]:8080", true},
    {"http://[::1]:8080", "http://[::2]:8080", false},

    {"https://*.example.com", "https://a.example.com", true},
    {"https://*.example.com", "https://a.b.example.com", true},
    {"https://*.example.com", "HTTPS://API.EXAMPLE.COM:443", true},
    {"https://*.example.com", "https://example.com", false},
    {"https://*.example.com", "https://evilexample.com", false},
    {"https://*.example.com", "https://evil-example.com", false},
    {"https://*.example.com", "https://a.example.com.evil.net", false},
    {"https://*.example.com", "https://example.com.evil.net", false},
    {"https://*.example.com", "https://a.example.com.", false},
    {"https://*.example.com", "https://a.example.co", false},
    {"https://*.example.com", "http://a.example.com", false},
    {"https://*.example.com", "wss://a.example.com", false},
    {"https://*.example.com", "https://a.example.com:8443", false},
    {"https://*.example.com", "null", false},
    {"https://*.example.com:*", "https://a.example.com:8443", true},
    {"https://*.example.com:*", "https://a.example.com", true},
    {"https://*.example.com:*", "https://example.com:8443", false},
    {"https://*.example.com:*", "http://a.example.com:8443", false},
    {"https://*.example.com:8443", "https://a.example.com:8443", true},
    {"https://*.example.com:8443", "https://a.example.com", false},
    {"https://*.example.com:8443", "https://a.example.com:8444", false},
    {"https://*.example.com:443", "https://a.example.com", true},
    {"HTTPS://*.EXAMPLE.COM", "https://a.example.com", true},

    {"~https://(app|admin)\\.example\\.org", "https://app.example.org", true},
    {"~https://(app|admin)\\.example\\.org", "https://admin.example.org", true},
    {"~https://(app|admin)\\.example\\.org", "HTTPS://APP.EXAMPLE.ORG:443", true},
    {"~https://(app|admin)\\.example\\.org", "https://app.example.org.evil.net", false},
    {"~https://(app|admin)\\.example\\.org", "https://evil.app.example.org", false},
    {"~https://(app|admin)\\.example\\.org", "https://app.example.org:8443", false},
    {"~https://(app|admin)\\.example\\.org", "http://app.example.org", false},
    {"~https://(app|admin)\\.example\\.org", "null", false},
    {"~^https://(app|admin)\\.example\\.org$", "https://admin.example.org", true},
    {"~^https://(app|admin)\\.example\\.org$", "https://admin.example.org.evil.net", false},
    /* A top-level '|' must stay inside the anchors. */
    {"~https://a\\.com|https://b\\.com", "https://b.com", true},
    {"~https://a\\.com|https://b\\.com", "https://a.com", true},
    {"~https://a\\.com|https://b\\.com", "https://a.com.evil.net", false},
    {"~https://a\\.com|https://b\\.com", "https://evil.b.com", false},
    {"~^https://a\\.com$|^https://b\\.com$", "https://b.com", true},
    {"~^https://a\\.com$|^https://b\\.com$", "https://b.com.evil.net", false},
    {"~https://.*\\.example\\.org", "https://x.y.example.org", true},
    {"~https://.*\\.example\\.org", "https://x.example.org.evil.net", false},
    /* An escaped "$" is the author's literal, not an anchor to strip. */
    {"~https://x\\.example\\.org\\$", "https://x.example.org", false},
    /* Case-sensitive against the normalised (lowercase) form. */
    {"~https://APP\\.example\\.org", "https://APP.example.org", false},
    {"~.*", "https://anything.example", true},
    {"~.*", "null", false},
};

START_TEST(test_rule_match)
{
	const struct match_case *c = &match_cases[_i];
	struct origin_rule r;
	struct origin_norm o;
	char err[256] = "";

	ck_assert_msg(origin_rule_parse(c->rule, &r, err, sizeof(err)) == 0, "%s: %s", c->rule,
	              err);
	ck_assert_msg(origin_normalize(str_c(c->origin), &o) == 0, "%s", c->origin);
	ck_assert_msg(origin_rule_match(&r, &o) == c->want, "%s vs %s: want %d", c->rule, c->origin,
	              c->want);
	origin_rule_free(&r);
}
END_TEST

/* A hand-built origin_norm the parser would refuse must not slip through a
 * wildcard: the '*' needs a whole non-empty label. */
START_TEST(test_wildcard_needs_label)
{
	struct origin_rule r;
	struct origin_norm o;
	char err[256];

	ck_assert_int_eq(origin_rule_parse("https://*.example.com", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(origin_normalize(S("https://x.example.com"), &o), 0);
	ck_assert(origin_rule_match(&r, &o));
	o.buf[o.host_off] = '.';
	ck_assert(!origin_rule_match(&r, &o));
	origin_rule_free(&r);
	ck_assert(!origin_rule_match(NULL, &o));
}
END_TEST

/*
 * Found by fuzzing (tests/fuzz/fuzz_origin): glibc copies the operand of "+"
 * as it does a count's, so stacked "+" doubled the regex each time (32 of
 * them asked regcomp for gigabytes), and a "+", count or "*" over a part that
 * can match "", or quantifiers stacked on one another, made it run for
 * seconds to minutes at a few dozen characters. All are refused at once; the
 * usual "+" and "*" over a non-empty part still compile.
 */
static const char *const regex_blowup[] = {
    "~,*+++++++++++++++++++++++++++++++*,*",
    "~a++++++++++++++++++++++++",
    "~(a?)++++++",
    "~((((((a?)+)+)+)+)+)",
    "~(a?){1,1000}",
    "~(a|)+",
    "~^https://(x*)+\\.example\\.com$",
    "~a********************************************************************************",
    /* Each "?" escaped: "??)" would be a trigraph. */
    "~2+\?\?\?)\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?,*\?\?\?\?\?\?"
    "\?\?\?\?)\?\?\?\?\?\?\?\?\?\?\?\?.\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?\?*.\?",
    "~((((((((((((((((((((((((((((((a*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)"
    "*)*)*",
    "~^https://.*?\\.example\\.com$",
};

START_TEST(test_rule_regex_blowup)
{
	struct origin_rule r;
	char err[256] = "";

	ck_assert_msg(origin_rule_parse(regex_blowup[_i], &r, err, sizeof(err)) == -1,
	              "accepted %s", regex_blowup[_i]);
	ck_assert_msg(strstr(err, "invalid regex: ") != NULL, "%s: %s", regex_blowup[_i], err);
	ck_assert_ptr_null(r.text);
}
END_TEST

START_TEST(test_rule_regex_plus_ok)
{
	static const char *const ok[] = {
	    "~^https://[a-z0-9-]+\\.example\\.com$",
	    "~^https://([a-z0-9-]+\\.)+example\\.com(:[0-9]+)?$",
	    "~^https://(eu|us)-[0-9]{1,3}\\.example\\.com$",
	    "~^https://(a?b)+\\.example\\.com$",
	};
	struct origin_norm o;
	struct origin_rule r;
	char err[256] = "";

	ck_assert_int_eq(origin_normalize(STR_LIT("https://abbab.example.com"), &o), 0);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_msg(origin_rule_parse(ok[i], &r, err, sizeof(err)) == 0, "%s: %s", ok[i],
		              err);
		origin_rule_free(&r);
	}
	ck_assert_int_eq(origin_rule_parse(ok[3], &r, err, sizeof(err)), 0);
	ck_assert(origin_rule_match(&r, &o));
	origin_rule_free(&r);
}
END_TEST

static Suite *origin_suite(void)
{
	Suite *s = suite_create("origin");
	TCase *tc = tcase_create("core");

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
	tcase_add_loop_test(tc, test_normalize_ok, 0, N(norm_ok));
	tcase_add_loop_test(tc, test_normalize_bad, 0, N(norm_bad));
	tcase_add_test(tc, test_normalize_null);
	tcase_add_test(tc, test_normalize_length);
	tcase_add_loop_test(tc, test_rule_parse_ok, 0, N(parse_ok));
	tcase_add_loop_test(tc, test_rule_parse_bad, 0, N(parse_bad));
	tcase_add_test(tc, test_rule_regex_error_text);
	tcase_add_test(tc, test_rule_parse_too_long);
	tcase_add_loop_test(tc, test_rule_match, 0, N(match_cases));
	tcase_add_test(tc, test_wildcard_needs_label);
	tcase_add_loop_test(tc, test_rule_regex_blowup, 0, N(regex_blowup));
	tcase_add_test(tc, test_rule_regex_plus_ok);
#undef N
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(origin_suite());
}
