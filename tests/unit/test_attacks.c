/*
 * The misconfiguration attacks every CORS deployment is tested for, seen
 * from the attacker's side: one table per class, each row a policy entry,
 * an attacking Origin and what corsd must do with it. The decision is pure
 * (cors_decide, origin_rule_match), so every row runs both as a preflight
 * and as an actual request, and every answer is also held to the rules no
 * row may break (see check_invariants). Rows a policy really accepts (the
 * unescaped dot, a wildcard over shared hosting) are the lint's to catch:
 * the lint table shows it does. test_misconfig.py shows the same on the
 * wire. test_origin.c and test_cors.c hold the matcher's and the
 * decision's own tables; this file adds the attack view.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "cors.h"
#include "hdr.h"
#include "lint.h"
#include "origin.h"
#include "unit.h"

/* Explicit lengths, so a NUL inside a literal is part of the Origin. */
#define S(lit) ((struct str){(lit), sizeof(lit) - 1})
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define HEAD "upstream: \"http://127.0.0.1:9000\"\npolicies:\n"

enum want {
	DENY,  /* no Access-Control-Allow-* at all: 403 preflight, bare actual */
	ALLOW, /* the request's own Origin bytes echoed */
	STAR,  /* a literal "*", never the request's origin */
};

struct row {
	const char *entry; /* one origins entry, as in a YAML single-quoted string */
	struct str origin; /* the attacking Origin header, byte for byte */
	enum want want;
	bool credentials;
};

/* ---- running one row ---- */

/* One policy at "/" with this single entry (YAML single quotes keep a
 * regex's backslashes as they are) and optional extra keys. */
static struct policy *load_entry(const char *entry, bool credentials, const char *extra)
{
	char yaml[1024];

	snprintf(yaml, sizeof(yaml),
	         HEAD "  - name: p\n"
	              "    origins: ['%s']\n"
	              "    methods: [GET, PUT]\n"
	              "    headers: [X-Custom]\n"
	              "    expose_headers: [X-Total]\n"
	              "%s%s",
	         entry, credentials ? "    credentials: true\n" : "", extra ? extra : "");
	return unit_policy("attack.yaml", yaml);
}

static const struct cors_header *find_header(const struct cors_decision *d, const char *name)
{
	const struct cors_header *found = NULL;

	for (size_t i = 0; i < d->nheaders; i++) {
		if (strcasecmp(d->headers[i].name, name) == 0) {
			ck_assert_msg(found == NULL, "%s sent twice", name);
			found = &d->headers[i];
		}
	}
	return found;
}

static bool has_vary(const struct cors_decision *d, const char *token)
{
	for (size_t i = 0; i < d->nvary; i++)
		if (strcasecmp(d->vary[i], token) == 0)
			return true;
	return false;
}

static bool str_is(struct str s, const char *c)
{
	return s.n == strlen(c) && memcmp(s.p, c, s.n) == 0;
}

/*
 * What no answer may ever do, whatever the policy and the Origin:
 *  - Access-Control-Allow-Origin is either a literal "*" or exactly the
 *    request's Origin bytes, and then only a valid serialized origin sent
 *    on one line (never a list, never a value with CR, LF or NUL);
 *  - "*" never goes with Access-Control-Allow-Credentials: true, and
 *    credentials are never allowed without an origin;
 *  - no header value holds CR, LF or NUL.
 */
static void check_invariants(const char *ctx, const struct cors_facts *f,
                             const struct cors_decision *d)
{
	const struct cors_header *acao = find_header(d, "Access-Control-Allow-Origin");
	const struct cors_header *acac = find_header(d, "Access-Control-Allow-Credentials");
	struct origin_norm o;

	for (size_t i = 0; i < d->nheaders; i++)
		for (size_t j = 0; j < d->headers[i].value.n; j++)
			ck_assert_msg(!strchr("\r\n", d->headers[i].value.p[j]) &&
			                  d->headers[i].value.p[j] != '\0',
			              "%s: %s carries a control byte", ctx, d->headers[i].name);
	if (acac) {
		ck_assert_msg(acao != NULL, "%s: credentials without an origin", ctx);
		ck_assert_msg(!str_is(acao->value, "*"), "%s: \"*\" with credentials", ctx);
	}
	if (acao == NULL || str_is(acao->value, "*"))
		return;
	ck_assert_msg(acao->value.n == f->origin.n &&
	                  memcmp(acao->value.p, f->origin.p, f->origin.n) == 0,
	              "%s: Access-Control-Allow-Origin is not the request's Origin", ctx);
	ck_assert_msg(f->origin_lines == 1 && origin_normalize(f->origin, &o) == 0,
	              "%s: an invalid Origin was reflected", ctx);
}

static void facts(struct cors_facts *f, const char *method, const char *path, struct str origin,
                  const char *acrm)
{
	cors_facts_init(f, str_c(method), str_c(path));
	cors_facts_add_header(f, STR_LIT("Host"), STR_LIT("api.test"));
	if (origin.p)
		cors_facts_add_header(f, STR_LIT("Origin"), origin);
	if (acrm)
		cors_facts_add_header(f, STR_LIT("Access-Control-Request-Method"), str_c(acrm));
}

/* The row as a preflight and as an actual request. */
static void run_row(const char *table, int i, const struct row *r)
{
	static struct cors_facts f;
	static struct cors_decision d;
	struct policy *p = load_entry(r->entry, r->credentials, NULL);
	char ctx[256];

	for (int pf = 0; pf < 2; pf++) {
		const struct cors_header *acao, *acac;

		snprintf(ctx, sizeof(ctx), "%s[%d] %s entry '%s'%s, Origin '%.*s'", table, i,
		         pf ? "preflight" : "actual", r->entry,
		         r->credentials ? " with credentials" : "", (int)r->origin.n, r->origin.p);
		facts(&f, pf ? "OPTIONS" : "GET", "/x", r->origin, pf ? "PUT" : NULL);
		cors_decide(p, &f, &d);
		check_invariants(ctx, &f, &d);
		acao = find_header(&d, "Access-Control-Allow-Origin");
		acac = find_header(&d, "Access-Control-Allow-Credentials");
		/* Every answer that depends on the Origin says so to caches. */
		if (r->want != STAR)
			ck_assert_msg(has_vary(&d, "Origin"), "%s: no Vary: Origin", ctx);

		switch (r->want) {
		case DENY:
			ck_assert_msg(d.verdict == CORS_VERDICT_DENY, "%s: verdict %s", ctx,
			              cors_verdict_name(d.verdict));
			ck_assert_msg(d.nheaders == 0, "%s: %zu CORS headers, first %s", ctx,
			              d.nheaders, d.nheaders ? d.headers[0].name : "");
			ck_assert_msg(d.local_status == (pf ? 403 : 0), "%s: status %d", ctx,
			              d.local_status);
			break;
		case ALLOW:
			ck_assert_msg(d.verdict == CORS_VERDICT_ALLOW, "%s: verdict %s (%s)", ctx,
			              cors_verdict_name(d.verdict), d.hint);
			/* check_invariants held it to the Origin's bytes. */
			ck_assert_msg(acao && !str_is(acao->value, "*"), "%s: no origin echoed",
			              ctx);
			ck_assert_msg((acac != NULL) == r->credentials, "%s: credentials", ctx);
			ck_assert_int_eq(d.local_status, pf ? 204 : 0);
			break;
		case STAR:
			ck_assert_msg(d.verdict == CORS_VERDICT_ALLOW, "%s: verdict %s", ctx,
			              cors_verdict_name(d.verdict));
			ck_assert_msg(acao && str_is(acao->value, "*"), "%s: not a literal *", ctx);
			ck_assert_msg(acac == NULL, "%s: credentials with *", ctx);
			ck_assert_msg(!has_vary(&d, "Origin") || pf, "%s: a * answer varies", ctx);
			break;
		}
	}
	policy_unref(p);
}

#define APP "https://app.example.com"

/* ---- arbitrary origin reflection ---- */

/* A foreign origin is never echoed by a policy that lists its origins, and
 * "*" answers a literal "*" to everyone, whatever the Origin holds. */
static const struct row reflection[] = {
    {APP, S("https://evil.example"), DENY, false},
    {APP, S("https://evil.example"), DENY, true},
    {APP, S("https://attacker.invalid"), DENY, true},
    {APP, S("http://localhost:8080"), DENY, true},
    {APP, S("*"), DENY, false},
    {APP, S("*"), DENY, true},
    {APP, S("https://evil.example, " APP), DENY, true},
    {APP, S(APP ", https://evil.example"), DENY, true},
    {APP, S(APP " https://evil.example"), DENY, true},
    {APP, S(APP "\r\nAccess-Control-Allow-Origin: *"), DENY, true},
    {APP, S(APP "\0https://evil.example"), DENY, true},
    {APP, S(""), DENY, true},
    {"https://*.example.com", S("https://evil.example"), DENY, true},
    {"https://*.example.com", S("https://attacker.invalid"), DENY, false},
    {"https://*.example.com:*", S("https://evil.example:8443"), DENY, true},
    {"~^https://(app|admin)\\.example\\.org$", S("https://evil.example"), DENY, true},
    {"~^https://(app|admin)\\.example\\.org$", S("*"), DENY, false},
    {"null", S("https://evil.example"), DENY, false},
    {"null", S("*"), DENY, false},
    /* The control: the entry is live, so the denials above are its doing. */
    {APP, S(APP), ALLOW, true},
    {"~^https://(app|admin)\\.example\\.org$", S("https://admin.example.org"), ALLOW, true},
    /* "*" without credentials: never the request's bytes, not even valid ones. */
    {"*", S("https://evil.example"), STAR, false},
    {"*", S(APP), STAR, false},
    {"*", S("null"), STAR, false},
    {"*", S("*"), STAR, false},
    {"*", S("https://u@evil.example"), STAR, false},
    {"*", S("https://evil.example/<script>"), STAR, false},
    {"*", S("https://a.example, https://b.example"), STAR, false},
};

START_TEST(test_reflection)
{
	run_row("reflection", _i, &reflection[_i]);
}
END_TEST

/* "*" beside listed entries still answers "*": listing an origin next to
 * it never turns the answer into a reflection. */
START_TEST(test_star_beside_entries)
{
	static struct cors_facts f;
	static struct cors_decision d;
	struct policy *p = unit_policy("attack.yaml", HEAD "  - origins: ['" APP "', '*']\n");

	facts(&f, "GET", "/x", S(APP), NULL);
	cors_decide(p, &f, &d);
	check_invariants("star beside", &f, &d);
	ck_assert_uint_eq(d.nheaders, 1);
	ck_assert_str_eq(d.headers[0].name, "Access-Control-Allow-Origin");
	ck_assert(str_is(d.headers[0].value, "*"));
	policy_unref(p);
}
END_TEST

/* ---- trusted null ---- */

/* "null" (sandboxed iframes, file: and data: pages, cross-origin
 * redirects) is matched by a literal "null" entry or by "*" only. A regex
 * never matches it, not even ~.* or one that spells null out: SPEC
 * "Origins" and origin_rule_match agree on that. */
static const struct row trusted_null[] = {
    {APP, S("null"), DENY, false},
    {APP, S("null"), DENY, true},
    {"https://*.example.com", S("null"), DENY, true},
    {"https://*.example.com:*", S("null"), DENY, true},
    {"~.*", S("null"), DENY, false},
    {"~.*", S("null"), DENY, true},
    {"~^.*$", S("null"), DENY, true},
    {"~.+", S("null"), DENY, true},
    {"~null", S("null"), DENY, true},
    {"~^(null|https://app\\.example\\.com)$", S("null"), DENY, true},
    {"~[a-z]*", S("null"), DENY, true},
    /* Only the exact lowercase bytes, once, are the opaque origin. */
    {"null", S("Null"), DENY, false},
    {"null", S("NULL"), DENY, false},
    {"null", S(" null"), DENY, false},
    {"null", S("null "), DENY, false},
    {"null", S("nulll"), DENY, false},
    {"null", S("null,null"), DENY, false},
    {"null", S("null null"), DENY, false},
    {"null", S("null\0"), DENY, false},
    {"null", S("https://null"), DENY, true},
    {"null", S("file://"), DENY, true},
    {"null", S("file:///etc/passwd"), DENY, true},
    {"null", S("data:,"), DENY, true},
    /* Listed by name it is allowed, and echoed as "null" (the lint warns
     * when credentials come with it: see the lint table). */
    {"null", S("null"), ALLOW, false},
    {"null", S("null"), ALLOW, true},
    {"~^(null|https://app\\.example\\.com)$", S(APP), ALLOW, true},
    {"*", S("null"), STAR, false},
};

START_TEST(test_trusted_null)
{
	run_row("trusted_null", _i, &trusted_null[_i]);
}
END_TEST

/* Two Origin lines of "null" are not the opaque origin either. */
START_TEST(test_null_twice)
{
	static struct cors_facts f;
	static struct cors_decision d;
	struct policy *p = load_entry("null", true, NULL);

	facts(&f, "GET", "/x", S("null"), NULL);
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("null"));
	cors_decide(p, &f, &d);
	ck_assert_int_eq(d.verdict, CORS_VERDICT_DENY);
	ck_assert_int_eq(d.reason, CORS_REASON_ORIGIN_INVALID);
	ck_assert_uint_eq(d.nheaders, 0);
	policy_unref(p);
}
END_TEST

/* ---- prefix and suffix match ---- */

#define EX "https://example.com"
#define WILD "https://*.example.com"
#define RX "~^https://(www\\.)?example\\.com$"

static const struct row affix[] = {
    /* Against the exact entry. */
    {EX, S("https://example.com.evil.net"), DENY, true},
    {EX, S("https://evilexample.com"), DENY, true},
    {EX, S("https://evil-example.com"), DENY, true},
    {EX, S("https://notexample.com"), DENY, true},
    {EX, S("https://xexample.com"), DENY, true},
    {EX, S("https://example.co"), DENY, true},
    {EX, S("https://example.comx"), DENY, true},
    {EX, S("https://example.com."), DENY, true},
    {EX, S("https://example.com.."), DENY, true},
    {EX, S("https://a.example.com"), DENY, true},
    {EX, S("HTTPS://EXAMPLE.COM.EVIL.NET"), DENY, true},
    {EX, S("https://example.com.evil.net:443"), DENY, true},
    {EX, S("https://example%2ecom"), DENY, true},
    {EX, S("https://ex%61mple.com"), DENY, true},
    {EX, S("https://example.com%2f.evil.net"), DENY, true},
    {EX, S("https://ex\xc3\xa4mple.com"), DENY, true},
    {EX, S("https://xn--exmple-cua.com"), DENY, true},
    {EX, S("https://example.com@evil.net"), DENY, true},
    {EX, S("https://evil.net@example.com"), DENY, true},
    {EX, S("https://example.com:443@evil.net"), DENY, true},
    {EX, S("https://example.com\\@evil.net"), DENY, true},
    {EX, S("https://evil.net\\.example.com"), DENY, true},
    {EX, S("https://example.com\\"), DENY, true},
    {EX, S("https:\\\\example.com"), DENY, true},
    {EX, S("https://example.com/.evil.net"), DENY, true},
    {EX, S("https://evil.net/https://example.com"), DENY, true},
    {EX, S("https://evil.net?https://example.com"), DENY, true},
    {EX, S("https://evil.net#https://example.com"), DENY, true},
    {EX, S("https://example.com\0.evil.net"), DENY, true},
    {EX, S("https://example.com .evil.net"), DENY, true},
    {EX, S("https://example.com\t"), DENY, true},
    {EX, S("https//example.com"), DENY, true},
    {EX, S("//example.com"), DENY, true},
    {EX, S("example.com"), DENY, true},
    {EX, S("https://127.0.0.1"), DENY, true},
    /* Against the wildcard. */
    {WILD, S("https://example.com"), DENY, true},
    {WILD, S("https://a.example.com.evil.net"), DENY, true},
    {WILD, S("https://example.com.evil.net"), DENY, true},
    {WILD, S("https://evilexample.com"), DENY, true},
    {WILD, S("https://a-example.com"), DENY, true},
    {WILD, S("https://aexample.com"), DENY, true},
    {WILD, S("https://notexample.com"), DENY, true},
    {WILD, S("https://a.xexample.com"), DENY, true},
    {WILD, S("https://a.example.co"), DENY, true},
    {WILD, S("https://a.example.comx"), DENY, true},
    {WILD, S("https://a.example.com."), DENY, true},
    {WILD, S("https://.example.com"), DENY, true},
    {WILD, S("https://a..example.com"), DENY, true},
    {WILD, S("https://a.example.com@evil.net"), DENY, true},
    {WILD, S("https://evil.net\\.example.com"), DENY, true},
    {WILD, S("https://evil.net#.example.com"), DENY, true},
    {WILD, S("https://evil.net?.example.com"), DENY, true},
    {WILD, S("https://evil.net/.example.com"), DENY, true},
    {WILD, S("https://evil.net%2f.example.com"), DENY, true},
    {WILD, S("https://a.ex\xc3\xa4mple.com"), DENY, true},
    {WILD, S("HTTPS://A.EXAMPLE.COM.EVIL.NET"), DENY, true},
    /* Against an escaped regex. */
    {RX, S("https://example.com.evil.net"), DENY, true},
    {RX, S("https://www.example.com.evil.net"), DENY, true},
    {RX, S("https://wwwxexample.com"), DENY, true},
    {RX, S("https://evilexample.com"), DENY, true},
    {RX, S("https://evil.www.example.com"), DENY, true},
    {RX, S("https://example.com."), DENY, true},
    {RX, S("https://example.com@evil.net"), DENY, true},
    /* The controls: case and the default port are not attacks, and the
     * answer carries the bytes as sent. */
    {EX, S(EX), ALLOW, true},
    {EX, S("HTTPS://Example.COM:443"), ALLOW, true},
    {WILD, S("https://a.example.com"), ALLOW, true},
    {WILD, S("https://a.b.example.com"), ALLOW, true},
    {WILD, S("HTTPS://A.EXAMPLE.COM"), ALLOW, true},
    {RX, S("https://www.example.com"), ALLOW, true},
    {RX, S("https://EXAMPLE.com"), ALLOW, true},
};

START_TEST(test_affix)
{
	run_row("affix", _i, &affix[_i]);
}
END_TEST

/* ---- unescaped dots and unanchored regexes ---- */

static const struct row regexes[] = {
    /* The unescaped dot is a real hole: the policy accepts the look-alike
     * (see the lint table, which reports exactly this origin). */
    {"~^https://app.example.com$", S("https://appxexample.com"), ALLOW, true},
    {"~^https://app.example.com$", S("https://app-example.com"), ALLOW, true},
    {"~^https://app\\.example\\.com$", S("https://appxexample.com"), DENY, true},
    {"~^https://app\\.example\\.com$", S("https://app-example.com"), DENY, true},
    /* Unanchored as written; corsd anchors it on both ends. */
    {"~https://app\\.example\\.com", S("https://app.example.com.evil.net"), DENY, true},
    {"~https://app\\.example\\.com", S("https://evil.net/?https://app.example.com"), DENY, true},
    {"~https://app\\.example\\.com", S("https://evil.net?https://app.example.com"), DENY, true},
    {"~https://app\\.example\\.com", S("https://evil.app.example.com"), DENY, true},
    {"~https://app\\.example\\.com", S("xhttps://app.example.com"), DENY, true},
    {"~https://app\\.example\\.com", S("https://app.example.com:8443"), DENY, true},
    {"~https://app\\.example\\.com", S("https://app.example.com.evil.net"), DENY, false},
    {"~^https://app\\.example\\.com", S("https://app.example.com.evil.net"), DENY, true},
    {"~https://app\\.example\\.com$", S("xhttps://app.example.com"), DENY, true},
    {"~https://app\\.example\\.com$", S("https://evil.https.app.example.com"), DENY, true},
    /* A top-level '|' stays inside the anchors. */
    {"~https://app\\.example\\.com|https://admin\\.example\\.com",
     S("https://app.example.com.evil.net"), DENY, true},
    {"~https://app\\.example\\.com|https://admin\\.example\\.com",
     S("https://evil.admin.example.com"), DENY, true},
    {"~^https://app\\.example\\.com$|^https://admin\\.example\\.com$",
     S("https://admin.example.com.evil.net"), DENY, true},
    {"~https://[a-z]+\\.example\\.com", S("https://app.example.com.evil.net"), DENY, true},
    /* The whole origin is matched, scheme included: a host-only regex
     * matches nothing. */
    {"~(app|admin)\\.example\\.com", S(APP), DENY, true},
    {"~app\\.example\\.com", S(APP), DENY, true},
    /* Case-sensitive against the lowercased form: an uppercase regex
     * cannot be met by an uppercase Origin either. */
    {"~https://APP\\.example\\.com", S("https://APP.example.com"), DENY, true},
    /* The controls. */
    {"~https://app\\.example\\.com", S(APP), ALLOW, true},
    {"~https://app\\.example\\.com|https://admin\\.example\\.com", S("https://admin.example.com"),
     ALLOW, true},
    {"~^https://app.example.com$", S(APP), ALLOW, true},
};

START_TEST(test_regexes)
{
	run_row("regexes", _i, &regexes[_i]);
}
END_TEST

/* ---- http:// downgrade ---- */

static const struct row downgrade[] = {
    {APP, S("http://app.example.com"), DENY, true},
    {APP, S("http://app.example.com"), DENY, false},
    {APP, S("HTTP://APP.EXAMPLE.COM"), DENY, true},
    {APP, S("http://app.example.com:443"), DENY, true},
    {APP, S("ws://app.example.com"), DENY, true},
    {APP, S("wss://app.example.com"), DENY, true},
    {"https://*.example.com", S("http://a.example.com"), DENY, true},
    {"https://*.example.com", S("http://a.example.com:443"), DENY, true},
    {"https://*.example.com:*", S("http://a.example.com"), DENY, true},
    {"https://*.example.com:*", S("http://a.example.com:8443"), DENY, true},
    {"wss://*.example.com", S("ws://a.example.com"), DENY, true},
    {"~^https://app\\.example\\.com$", S("http://app.example.com"), DENY, true},
    {"~^https://(app|admin)\\.example\\.com$", S("http://admin.example.com"), DENY, true},
    {APP, S(APP), ALLOW, true},
    {"https://*.example.com", S("https://a.example.com"), ALLOW, true},
};

START_TEST(test_downgrade)
{
	run_row("downgrade", _i, &downgrade[_i]);
}
END_TEST

/* ---- other ports ---- */

static const struct row ports[] = {
    {APP, S(APP ":8443"), DENY, true},
    {APP, S(APP ":444"), DENY, true},
    {APP, S(APP ":80"), DENY, true},
    {APP, S(APP ":65535"), DENY, true},
    {APP, S(APP ":0"), DENY, true},
    {APP, S(APP ":"), DENY, true},
    {APP, S(APP ":443:8443"), DENY, true},
    {APP ":8443", S(APP), DENY, true},
    {APP ":8443", S(APP ":8444"), DENY, true},
    {APP ":8443", S(APP ":443"), DENY, true},
    {APP ":8443", S("http://app.example.com:8443"), DENY, true},
    {"https://*.example.com", S("https://a.example.com:8443"), DENY, true},
    {"https://*.example.com:8443", S("https://a.example.com"), DENY, true},
    {"https://*.example.com:8443", S("https://a.example.com:8444"), DENY, true},
    /* ":*" frees the port, and nothing else. */
    {"https://*.example.com:*", S("http://a.example.com:8443"), DENY, true},
    {"https://*.example.com:*", S("wss://a.example.com:8443"), DENY, true},
    {"https://*.example.com:*", S("https://example.com:8443"), DENY, true},
    {"https://*.example.com:*", S("https://a.example.net:8443"), DENY, true},
    {"https://*.example.com:*", S("https://a.example.com.evil.net:8443"), DENY, true},
    {"https://*.example.com:*", S("https://evilexample.com:8443"), DENY, true},
    {"http://localhost:3000", S("http://localhost:30000"), DENY, true},
    {"http://localhost:3000", S("http://localhost:300"), DENY, true},
    {"http://localhost:3000", S("http://localhost:3001"), DENY, true},
    {"http://localhost:3000", S("http://localhost"), DENY, true},
    {"http://localhost:3000", S("https://localhost:3000"), DENY, true},
    {"http://localhost:3000", S("http://127.0.0.1:3000"), DENY, true},
    {"~^https://app\\.example\\.com$", S(APP ":8443"), DENY, true},
    {APP, S(APP ":443"), ALLOW, true},
    {APP ":8443", S(APP ":8443"), ALLOW, true},
    {"https://*.example.com:8443", S("https://a.example.com:8443"), ALLOW, true},
    {"https://*.example.com:*", S("https://a.example.com:8443"), ALLOW, true},
    {"https://*.example.com:*", S("https://a.example.com:1"), ALLOW, true},
    {"https://*.example.com:*", S("https://a.example.com"), ALLOW, true},
    {"http://localhost:3000", S("http://localhost:3000"), ALLOW, true},
};

START_TEST(test_ports)
{
	run_row("ports", _i, &ports[_i]);
}
END_TEST

/* ---- third-party wildcards ---- */

/* A wildcard over a shared-hosting domain does accept a stranger's site:
 * the decision cannot know who owns it. The lint table reports each. */
static const struct row third_party[] = {
    {"https://*.github.io", S("https://evil.github.io"), ALLOW, false},
    {"https://*.herokuapp.com", S("https://evil.herokuapp.com"), ALLOW, false},
    {"https://*.s3.amazonaws.com", S("https://evil.s3.amazonaws.com"), ALLOW, false},
    {"https://*.amazonaws.com", S("https://evil.s3.amazonaws.com"), ALLOW, false},
    {"https://*.co.uk", S("https://evil.co.uk"), ALLOW, false},
    /* One's own subdomain under shared hosting covers only its own sites. */
    {"https://*.alice.github.io", S("https://evil.github.io"), DENY, false},
    {"https://*.alice.github.io", S("https://aliceevil.github.io"), DENY, false},
    {"https://*.alice.github.io", S("https://alice.github.io.evil.net"), DENY, false},
};

START_TEST(test_third_party)
{
	run_row("third_party", _i, &third_party[_i]);
}
END_TEST

/* ---- the lint: what the decision cannot refuse, corsd -t reports ---- */

struct lint_row {
	const char *entry;
	bool credentials;
	const char *has; /* a part of the one warning expected; NULL: none */
};

static const struct lint_row lints[] = {
    {"~^https://app.example.com$", false, "accepts \"https://appxexample.com\" (a dot replaced"},
    {"~^https://app.example.com$", true, "accepts \"https://appxexample.com\""},
    {"~^https://.*example\\.com$", false, "\"https://evilexample.com\" (\"evil\" prepended"},
    {"~^https://app\\.example\\.com.*", false, "\".evil.example\" appended"},
    {"~^https*://app\\.example\\.com$", false, "the http:// downgrade"},
    {"~^https://app\\.example\\.com(:[0-9]+)?$", false, NULL},
    {"~^https://app\\.example\\.com.?[0-9]*$", false, "another port"},
    {"~^https://(app\\.|)example\\.com$", false, "the bare parent domain"},
    /* Accepting every origin is the reflection misconfiguration itself,
     * written as a regex that no sample origin can be derived from. */
    {"~.*", false, "accepts \"https://attacker.invalid\""},
    {"~.*", true, "accepts \"https://attacker.invalid\""},
    {"~.+", true, "accepts \"https://attacker.invalid\""},
    {"~^.*$", true, "accepts \"https://attacker.invalid\""},
    {"~(.*)", true, "accepts \"https://attacker.invalid\""},
    {"~[^ ]+", true, "accepts \"https://attacker.invalid\""},
    {"~[a-z]+://.*", true, "accepts \"a://x.evil.example\""},
    {"~^http://.*$", false, "\"http://attacker.invalid\""},
    {"~^https://.*$", false, "\"https://attacker.invalid\""},
    /* Third-party wildcards. */
    {"https://*.github.io", false, "github.io is a public suffix or shared-hosting domain"},
    {"https://*.GitHub.IO:*", false, "github.io is a public suffix"},
    {"https://*.herokuapp.com", false, "herokuapp.com is a public suffix"},
    {"wss://*.herokuapp.com", false, "herokuapp.com is a public suffix"},
    {"https://*.s3.amazonaws.com", false, "s3.amazonaws.com is a public suffix"},
    {"https://*.co.uk", false, "co.uk is a public suffix"},
    {"https://*.co.uk:8443", false, "co.uk is a public suffix"},
    {"https://*.amazonaws.com", false, "covers s3.amazonaws.com, a public suffix"},
    {"~^https://[a-z0-9-]+\\.github\\.io$", false, "\"https://evila.github.io\" (\"evil\""},
    /* Trusted null and plain http, with credentials. */
    {"null", true, "origin \"null\" with credentials: true"},
    {"http://app.example.com", true, "is plain http with credentials: true"},
    {"http://*.example.com", true, "is plain http with credentials: true"},
    {"~^https?://app\\.example\\.com$", true, "accepts plain http"},
    /* What needs no warning. */
    {APP, true, NULL},
    {"https://*.example.com", true, NULL},
    {"https://*.example.com:*", true, NULL},
    {"https://*.alice.github.io", true, NULL},
    {"https://*.example.co.uk", true, NULL},
    {"~^https://app\\.example\\.com$", true, NULL},
    {"~https://app\\.example\\.com", true, NULL},
    {"~^https://(eu|us)-[0-9]+\\.app\\.example\\.com$", true, NULL},
    {"null", false, NULL},
    {"*", false, NULL},
    {"http://localhost:3000", true, NULL},
};

START_TEST(test_lint)
{
	const struct lint_row *r = &lints[_i];
	struct policy *p = load_entry(r->entry, r->credentials, NULL);
	struct diag_list d;
	size_t n;

	diag_init(&d, "attack.yaml");
	n = lint_policy(p, &d);
	if (r->has == NULL) {
		ck_assert_msg(n == 0, "'%s': unexpected warning: %s", r->entry,
		              n ? d.v[0].msg : "");
	} else {
		ck_assert_msg(n == 1, "'%s': %zu warnings, want 1; first: %s", r->entry, n,
		              n ? d.v[0].msg : "-");
		ck_assert_msg(strstr(d.v[0].msg, r->has) != NULL, "'%s': \"%s\" lacks \"%s\"",
		              r->entry, d.v[0].msg, r->has);
		/* On the entry itself: line 4 ("origins:"), after "    origins: [". */
		ck_assert_int_eq(d.v[0].line, 4);
		ck_assert_int_eq(d.v[0].col, 15);
		ck_assert(d.v[0].warning);
	}
	diag_free(&d);
	policy_unref(p);
}
END_TEST

/* ---- "*" with credentials ---- */

struct load_row {
	const char *name;
	const char *yaml; /* after HEAD: its first line is line 3 */
	size_t n;
	struct {
		int line, col;
		const char *has;
	} err[3];
};

#define ORIGINS_STAR "origins: \"*\" cannot be combined with credentials: true"
#define HEADERS_STAR "headers: \"*\" cannot be combined with credentials: true"
#define EXPOSE_STAR "expose_headers: \"*\" cannot be combined with credentials: true"

static const struct load_row star_credentials[] = {
    {"origins *", "  - origins: [\"*\"]\n    credentials: true\n", 1, {{3, 15, ORIGINS_STAR}}},
    {"origins * after a listed origin",
     "  - origins: [\"" APP "\", '*']\n    credentials: true\n",
     1,
     {{3, 42, ORIGINS_STAR}}},
    {"credentials first, block list",
     "  - credentials: true\n    origins:\n      - \"" APP "\"\n      - \"*\"\n",
     1,
     {{6, 9, ORIGINS_STAR}}},
    {"quoted true is true",
     "  - origins: [\"*\"]\n    credentials: \"true\"\n",
     1,
     {{3, 15, ORIGINS_STAR}}},
    {"True", "  - origins: [\"*\"]\n    credentials: True\n", 1, {{3, 15, ORIGINS_STAR}}},
    {"headers *",
     "  - origins: [\"" APP "\"]\n    headers: [\"*\"]\n    credentials: true\n",
     1,
     {{4, 15, HEADERS_STAR}}},
    {"expose_headers *",
     "  - origins: [\"" APP "\"]\n    expose_headers: [\"*\"]\n    credentials: true\n",
     1,
     {{4, 22, EXPOSE_STAR}}},
    {"all three at once, each reported",
     "  - origins: [\"*\"]\n    headers: [\"*\"]\n    expose_headers: [\"*\"]\n"
     "    credentials: true\n",
     3,
     {{3, 15, ORIGINS_STAR}, {4, 15, HEADERS_STAR}, {5, 22, EXPOSE_STAR}}},
    /* Through an alias: the "*" is reported where it is written. */
    {"alias of a public policy's origins",
     "  - path: /public\n    origins: &any [\"*\"]\n"
     "  - path: /private\n    origins: *any\n    credentials: true\n",
     1,
     {{4, 20, ORIGINS_STAR}}},
};

START_TEST(test_star_with_credentials)
{
	const struct load_row *r = &star_credentials[_i];
	char yaml[1024];
	struct diag_list d;
	struct policy *p;

	snprintf(yaml, sizeof(yaml), HEAD "%s", r->yaml);
	diag_init(&d, "star.yaml");
	p = config_load_buffer("star.yaml", yaml, strlen(yaml), &d);
	ck_assert_msg(p == NULL, "%s: loaded", r->name);
	ck_assert_msg(d.errors == r->n, "%s: %zu errors, want %zu; first: %s", r->name, d.errors,
	              r->n, d.n ? d.v[0].msg : "-");
	for (size_t i = 0; i < r->n; i++) {
		char line[1200], want[64];

		ck_assert_msg(d.v[i].line == r->err[i].line && d.v[i].col == r->err[i].col,
		              "%s: error %zu at %d:%d, want %d:%d (%s)", r->name, i, d.v[i].line,
		              d.v[i].col, r->err[i].line, r->err[i].col, d.v[i].msg);
		ck_assert_msg(strstr(d.v[i].msg, r->err[i].has), "%s: \"%s\" lacks \"%s\"", r->name,
		              d.v[i].msg, r->err[i].has);
		/* Printed as FILE:LINE:COLUMN: message. */
		diag_format(&d, i, line, sizeof(line));
		snprintf(want, sizeof(want), "star.yaml:%d:%d: ", r->err[i].line, r->err[i].col);
		ck_assert_msg(strncmp(line, want, strlen(want)) == 0, "%s: \"%s\"", r->name, line);
	}
	diag_free(&d);
}
END_TEST

/* ---- an upstream's own CORS headers ---- */

/* exchange.c drops every upstream header this says yes to, whatever its
 * case; test_misconfig.py shows it on the wire. */
static const struct {
	struct str name;
	bool access_control;
} upstream_names[] = {
    {S("Access-Control-Allow-Origin"), true},
    {S("access-control-allow-origin"), true},
    {S("ACCESS-CONTROL-ALLOW-CREDENTIALS"), true},
    {S("Access-control-Expose-Headers"), true},
    {S("Access-Control-Allow-Private-Network"), true},
    {S("Access-Control-Allow-Methods"), true},
    {S("Access-Control-Allow-Headers"), true},
    {S("Access-Control-Max-Age"), true},
    {S("Access-Control-Request-Method"), true},
    {S("Access-Control-X-Anything"), true},
    {S("Access-Control-"), true},
    {S("Access-Control"), false},
    {S("X-Access-Control-Allow-Origin"), false},
    {S("AccessControl-Allow-Origin"), false},
    {S("Vary"), false},
};

START_TEST(test_upstream_header_names)
{
	ck_assert_msg(hdr_is_access_control(upstream_names[_i].name) ==
	                  upstream_names[_i].access_control,
	              "%.*s", (int)upstream_names[_i].name.n, upstream_names[_i].name.p);
}
END_TEST

/* ---- private-network opt-in ---- */

static const char PN_POLICY[] = HEAD "  - name: on\n"
                                     "    path: /on\n"
                                     "    origins: [\"" APP "\"]\n"
                                     "    headers: [X-Custom]\n"
                                     "    private_network: true\n"
                                     "  - name: off\n"
                                     "    path: /off\n"
                                     "    origins: [\"" APP "\"]\n"
                                     "  - name: omit\n"
                                     "    path: /omit\n"
                                     "    origins: [\"" APP "\"]\n"
                                     "    private_network: true\n"
                                     "    deny: omit\n"
                                     "  - name: fwd\n"
                                     "    path: /fwd\n"
                                     "    origins: [\"" APP "\"]\n"
                                     "    private_network: true\n"
                                     "    preflight: forward\n"
                                     "  - name: creds\n"
                                     "    path: /creds\n"
                                     "    origins: [\"" APP "\", \"null\"]\n"
                                     "    credentials: true\n"
                                     "    private_network: true\n";

struct pn_row {
	const char *path;
	struct str origin; /* STR_NULL: none */
	const char *method, *acrm, *acrh;
	const char *acrpn; /* Access-Control-Request-Private-Network, NULL: absent */
	bool want_allow_pn, want_vary_pn;
};

static const struct pn_row pn_rows[] = {
    /* The one case that answers it: on, allowed, asked for. */
    {"/on", S(APP), "OPTIONS", "GET", NULL, "true", true, true},
    {"/creds", S(APP), "OPTIONS", "PUT", NULL, "true", false, true}, /* PUT not allowed */
    {"/creds", S(APP), "OPTIONS", "POST", NULL, "true", true, true},
    {"/fwd", S(APP), "OPTIONS", "GET", NULL, "true", true, true},
    /* Not asked for. */
    {"/on", S(APP), "OPTIONS", "GET", NULL, NULL, false, true},
    {"/on", S(APP), "OPTIONS", "GET", NULL, "false", false, true},
    {"/on", S(APP), "OPTIONS", "GET", NULL, "", false, true},
    {"/on", S(APP), "OPTIONS", "GET", NULL, "true, true", false, true},
    /* Denied: origin, method, header, invalid or null origin. */
    {"/on", S("https://evil.example"), "OPTIONS", "GET", NULL, "true", false, true},
    {"/on", S("http://app.example.com"), "OPTIONS", "GET", NULL, "true", false, true},
    {"/on", S("null"), "OPTIONS", "GET", NULL, "true", false, true},
    {"/on", S("https://u@app.example.com"), "OPTIONS", "GET", NULL, "true", false, true},
    {"/on", S(APP), "OPTIONS", "DELETE", NULL, "true", false, true},
    {"/on", S(APP), "OPTIONS", "GET", "X-Evil", "true", false, true},
    {"/omit", S("https://evil.example"), "OPTIONS", "GET", NULL, "true", false, true},
    {"/fwd", S("https://evil.example"), "OPTIONS", "GET", NULL, "true", false, true},
    /* private_network off: never, and Vary does not name it. */
    {"/off", S(APP), "OPTIONS", "GET", NULL, "true", false, false},
    {"/off", S("https://evil.example"), "OPTIONS", "GET", NULL, "true", false, false},
    /* Never on an actual response, asked for or not. */
    {"/on", S(APP), "GET", NULL, NULL, "true", false, false},
    {"/on", S(APP), "POST", NULL, NULL, "true", false, false},
    {"/on", S(APP), "OPTIONS", NULL, NULL, "true", false, false},
    {"/creds", S(APP), "GET", NULL, NULL, "true", false, false},
    {"/on", STR_NULL, "OPTIONS", "GET", NULL, "true", false, false},
    {"/on", STR_NULL, "GET", NULL, NULL, "true", false, false},
};

START_TEST(test_private_network)
{
	const struct pn_row *r = &pn_rows[_i];
	static struct cors_facts f;
	static struct cors_decision d;
	struct policy *p = unit_policy("pn.yaml", PN_POLICY);
	const struct cors_header *pn;
	char ctx[200];

	snprintf(ctx, sizeof(ctx), "pn[%d] %s %s Origin '%.*s'", _i, r->method, r->path,
	         (int)r->origin.n, r->origin.p ? r->origin.p : "");
	facts(&f, r->method, r->path, r->origin, r->acrm);
	if (r->acrh)
		cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Headers"),
		                      str_c(r->acrh));
	if (r->acrpn)
		cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Private-Network"),
		                      str_c(r->acrpn));
	cors_decide(p, &f, &d);
	check_invariants(ctx, &f, &d);
	pn = find_header(&d, "Access-Control-Allow-Private-Network");
	ck_assert_msg((pn != NULL) == r->want_allow_pn, "%s: Allow-Private-Network %s", ctx,
	              pn ? "sent" : "missing");
	if (pn) {
		ck_assert(str_is(pn->value, "true"));
		ck_assert_int_eq(d.verdict, CORS_VERDICT_ALLOW);
		ck_assert_ptr_nonnull(find_header(&d, "Access-Control-Allow-Origin"));
	}
	ck_assert_msg(has_vary(&d, "Access-Control-Request-Private-Network") == r->want_vary_pn,
	              "%s: Vary", ctx);
	policy_unref(p);
}
END_TEST

static TCase *loop_case(const char *name, const TTest *test, int n)
{
	TCase *tc = tcase_create(name);

	tcase_add_loop_test(tc, test, 0, n);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("attacks");
	TCase *tc;

	tc = loop_case("reflection", test_reflection, N(reflection));
	tcase_add_test(tc, test_star_beside_entries);
	suite_add_tcase(s, tc);
	tc = loop_case("trusted_null", test_trusted_null, N(trusted_null));
	tcase_add_test(tc, test_null_twice);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, loop_case("affix", test_affix, N(affix)));
	suite_add_tcase(s, loop_case("regexes", test_regexes, N(regexes)));
	suite_add_tcase(s, loop_case("downgrade", test_downgrade, N(downgrade)));
	suite_add_tcase(s, loop_case("ports", test_ports, N(ports)));
	suite_add_tcase(s, loop_case("third_party", test_third_party, N(third_party)));
	suite_add_tcase(s, loop_case("lint", test_lint, N(lints)));
	suite_add_tcase(
	    s, loop_case("star_with_credentials", test_star_with_credentials, N(star_credentials)));
	suite_add_tcase(
	    s, loop_case("upstream_headers", test_upstream_header_names, N(upstream_names)));
	suite_add_tcase(s, loop_case("private_network", test_private_network, N(pn_rows)));
	return unit_run(s);
}
