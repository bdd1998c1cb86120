/*
 * The origin normaliser and the origin rules. The input is lines: the first
 * is an `origins` entry, each other one an Origin header value. Invariants:
 *  - a normalised origin is lowercase, fits, and normalises to itself;
 *  - an exact rule written as a normalised origin accepts it, and so do the
 *    regex spelling it out, "*" and, for a domain of three labels or more,
 *    the wildcard over its parent (with its port, or ":*"), which never
 *    accepts the bare parent;
 *  - a fuzzed rule accepts only what its kind allows: an exact rule its own
 *    origin, a wildcard a longer host under its suffix, never "null" but
 *    from "null" and "*"; and its normalised text parses back the same.
 */
#include <stdlib.h>

#include "origin.h"
#include "fuzz.h"

#define MAX_ORIGINS 16

static void check_norm(const struct origin_norm *o)
{
	FUZZ_CHECK(o->len <= ORIGIN_MAX && o->len == strlen(o->buf));
	for (size_t i = 0; i < o->len; i++)
		FUZZ_CHECK(!(o->buf[i] >= 'A' && o->buf[i] <= 'Z'));
	if (o->is_null) {
		FUZZ_CHECK(strcmp(o->buf, "null") == 0);
		return;
	}
	FUZZ_CHECK(o->scheme_len > 0 && o->host_off == o->scheme_len + 3);
	FUZZ_CHECK(memcmp(o->buf + o->scheme_len, "://", 3) == 0);
	FUZZ_CHECK(o->host_len > 0 && o->host_off + o->host_len <= o->len);
	FUZZ_CHECK(o->port == -1 || (o->port >= 1 && o->port <= 65535));
	FUZZ_CHECK((o->port == -1) == (o->host_off + o->host_len == o->len));
}

static bool same_norm(const struct origin_norm *a, const struct origin_norm *b)
{
	return a->is_null == b->is_null && a->len == b->len && strcmp(a->buf, b->buf) == 0 &&
	       a->scheme_len == b->scheme_len && a->host_off == b->host_off &&
	       a->host_len == b->host_len && a->port == b->port;
}

static void must_match(const char *text, const struct origin_norm *o, bool expect)
{
	struct origin_rule r;
	char err[512];

	if (origin_rule_parse(text, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "rule %s: %s\n", text, err);
		FUZZ_CHECK(!"a rule built from a valid origin parses");
	}
	if (origin_rule_match(&r, o) != expect) {
		fprintf(stderr, "rule %s, origin %s: expected %d\n", text, o->buf, expect);
		FUZZ_CHECK(!"rule built from a valid origin");
	}
	origin_rule_free(&r);
}

/* "~" and the origin with every ERE metacharacter it may hold bracketed. */
static void regex_of(const struct origin_norm *o, char *out)
{
	*out++ = '~';
	for (size_t i = 0; i < o->len; i++) {
		char c = o->buf[i];

		if (c == '.' || c == '+' || c == '[') {
			*out++ = '[';
			*out++ = c;
			*out++ = ']';
		} else {
			*out++ = c;
		}
	}
	*out = '\0';
}

/* The rules any valid origin is accepted by. */
static void check_built_rules(const struct origin_norm *o)
{
	char text[3 * ORIGIN_MAX + 16];
	const char *host = o->buf + o->host_off, *dot, *port;
	size_t parent_len;

	must_match("*", o, true);
	must_match("null", o, o->is_null);
	if (o->is_null)
		return;
	must_match(o->buf, o, true);
	regex_of(o, text);
	must_match(text, o, true);

	/* The wildcard over the parent: "*." then at least two labels. */
	dot = memchr(host, '.', o->host_len);
	if (host[0] == '[' || !dot || host[o->host_len - 1] == '.' ||
	    !memchr(dot + 1, '.', o->host_len - (size_t)(dot + 1 - host)))
		return;
	port = o->buf + o->host_off + o->host_len; /* ":port" or "" */
	snprintf(text, sizeof(text), "%.*s*%s", (int)o->host_off, o->buf, dot);
	must_match(text, o, true);
	snprintf(text, sizeof(text), "%.*s*%.*s:*", (int)o->host_off, o->buf,
	         (int)(o->len - (size_t)(dot - o->buf)), dot);
	must_match(text, o, true);
	if (*port) {
		/* Without its port the wildcard means the default port only. */
		snprintf(text, sizeof(text), "%.*s*%.*s", (int)o->host_off, o->buf,
		         (int)(port - dot), dot);
		must_match(text, o, false);
	}
	/* The bare parent, under the same wildcard. */
	{
		struct origin_norm parent;
		char ptext[ORIGIN_MAX + 1];

		parent_len = o->len - (size_t)(dot + 1 - host);
		snprintf(ptext, sizeof(ptext), "%.*s%s", (int)o->host_off, o->buf, dot + 1);
		FUZZ_CHECK(strlen(ptext) == parent_len);
		FUZZ_CHECK(origin_normalize(str_c(ptext), &parent) == 0);
		snprintf(text, sizeof(text), "%.*s*%.*s:*", (int)o->host_off, o->buf,
		         (int)(o->len - (size_t)(dot - o->buf)), dot);
		must_match(text, &parent, false);
	}
}

static void check_fuzzed_rule(const struct origin_rule *r, const struct origin_norm *o)
{
	bool m = origin_rule_match(r, o);

	switch (r->kind) {
	case ORIGIN_RULE_ANY:
		FUZZ_CHECK(m);
		break;
	case ORIGIN_RULE_NULL:
		FUZZ_CHECK(m == o->is_null);
		break;
	case ORIGIN_RULE_EXACT:
		FUZZ_CHECK(m == (!o->is_null && strcmp(r->exact, o->buf) == 0));
		break;
	case ORIGIN_RULE_WILDCARD:
		if (m) {
			size_t sl = strlen(r->suffix);

			FUZZ_CHECK(!o->is_null && o->host_len > sl + 0);
			FUZZ_CHECK(strncmp(o->buf, r->scheme, o->scheme_len) == 0 &&
			           r->scheme[o->scheme_len] == '\0');
			FUZZ_CHECK(memcmp(o->buf + o->host_off + o->host_len - sl, r->suffix, sl) ==
			           0);
			FUZZ_CHECK(r->port == 0 || r->port == o->port);
		}
		break;
	case ORIGIN_RULE_REGEX:
		FUZZ_CHECK(!m || !o->is_null);
		break;
	}
}

/* A parsed rule's own normalised parts read back to the same rule. */
static void check_rule_roundtrip(const struct origin_rule *r)
{
	struct origin_rule again;
	char err[512], text[ORIGIN_MAX + 8];

	if (r->kind == ORIGIN_RULE_EXACT) {
		FUZZ_CHECK(origin_rule_parse(r->exact, &again, err, sizeof(err)) == 0);
		FUZZ_CHECK(again.kind == ORIGIN_RULE_EXACT && strcmp(again.exact, r->exact) == 0);
		origin_rule_free(&again);
	} else if (r->kind == ORIGIN_RULE_WILDCARD) {
		if (r->port > 0)
			snprintf(text, sizeof(text), "%s://*%s:%d", r->scheme, r->suffix, r->port);
		else
			snprintf(text, sizeof(text), "%s://*%s%s", r->scheme, r->suffix,
			         r->port == 0 ? ":*" : "");
		FUZZ_CHECK(origin_rule_parse(text, &again, err, sizeof(err)) == 0);
		FUZZ_CHECK(again.kind == ORIGIN_RULE_WILDCARD &&
		           strcmp(again.scheme, r->scheme) == 0 &&
		           strcmp(again.suffix, r->suffix) == 0 && again.port == r->port);
		origin_rule_free(&again);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct origin_rule rule;
	bool have_rule;
	char *text, err[512];
	size_t norigins = 0;

	nl = memchr(p, '\n', size);
	text = malloc((nl ? (size_t)(nl - p) : size) + 1);
	FUZZ_CHECK(text != NULL);
	fuzz_cstr(data, nl ? (size_t)(nl - p) : size, text, (nl ? (size_t)(nl - p) : size) + 1);
	err[0] = '\0';
	have_rule = origin_rule_parse(text, &rule, err, sizeof(err)) == 0;
	if (have_rule) {
		FUZZ_CHECK(strcmp(rule.text, text) == 0);
		check_rule_roundtrip(&rule);
	} else {
		FUZZ_CHECK(err[0] != '\0' && fuzz_printable(err, strlen(err), ""));
		FUZZ_CHECK(rule.text == NULL && !rule.has_re);
	}

	while (nl && norigins++ < MAX_ORIGINS) {
		struct origin_norm o, again;
		struct str raw;

		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		raw = (struct str){p, nl ? (size_t)(nl - p) : (size_t)(end - p)};
		if (origin_normalize(raw, &o) != 0)
			continue;
		check_norm(&o);
		FUZZ_CHECK(origin_normalize((struct str){o.buf, o.len}, &again) == 0);
		FUZZ_CHECK(same_norm(&o, &again));
		check_built_rules(&o);
		if (have_rule)
			check_fuzzed_rule(&rule, &o);
	}
	if (have_rule)
		origin_rule_free(&rule);
	free(text);
	return 0;
}
