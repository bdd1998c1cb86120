/*
 * lint: warnings about a policy that loads but is risky (SPEC "Lints").
 *
 * The rules, and the choices the contract leaves open:
 *
 *  - Attack origins. Every exact, wildcard and regex origin is fed the
 *    classic attack origins built from a sample origin the rule is meant to
 *    accept: ".evil.example" appended to the host, "evil" prepended to its
 *    registrable domain (evilexample.com, which anyone can register), each
 *    dot of the host replaced by 'x', the http:// downgrade of an https (or
 *    wss) origin, another port, the bare parent domain (only while it is
 *    still at least the registrable domain: never "com"), and "null". All
 *    the attacks one rule accepts make ONE warning, so each risky entry reads
 *    as one line. Every rule is also fed an unrelated site,
 *    https://attacker.invalid and its http form (.invalid is reserved, so no
 *    policy means it): a rule that accepts it accepts about any origin, the
 *    reflection misconfiguration itself. This one needs no sample, so it
 *    also catches "~.*" and the like, from which none can be derived.
 *    An attack the rule's text asks for is not reported: any port under a
 *    ":*" wildcard or a regex that mentions a port (a ':' after
 *    "://"), and http under a regex that names it ("https?", "(http|https)",
 *    "http[s]?", "http:"). A hostname's registrable domain comes from the
 *    short list in lint_suffixes.c, or else is its last two labels; "evil"
 *    and the parent are not tried on IP literals nor single-label hosts.
 *    Exact and wildcard rules cannot fail these (origin.c matches strictly);
 *    they are fed them anyway, so a regression there would show up here.
 *  - A regex's sample is derived from its text, best effort: the first
 *    alternative of every '|', escaped characters as themselves, the first
 *    character of a bracket expression ('1' for [0-9], 'x' when negated),
 *    an unescaped unquantified '.' as a dot (the author meant one), ".+" as
 *    'x', and optional atoms ('?', '*', {0,n}) left out, or, when that is
 *    not an origin the rule accepts, put in once. An http sample becomes
 *    https when the rule accepts that too ("https?" is after https).
 *    A regex whose sample cannot be derived that way is not linted: a
 *    warning must name an origin the rule really accepts.
 *  - "*" is not linted: without credentials it is the documented public-API
 *    case (corsd then sends Access-Control-Allow-Origin: * literally), and
 *    with credentials it is already a load error. "null" alone is not
 *    linted either; with credentials it is (below).
 *  - A wildcard whose domain is on the short list in lint_suffixes.c
 *    (github.io, herokuapp.com, co.uk, ...), or lies above one of them
 *    (amazonaws.com above s3.amazonaws.com), is reported once for that; its
 *    attack origins are not fed, since that warning says it all.
 *  - With credentials: true, an origin that allows plain http (an http://
 *    exact or wildcard origin, or a regex that accepts the http form of its
 *    sample because it asks for it; an unasked one is the downgrade attack
 *    above) and the "null" entry are reported. Loopback hosts (localhost,
 *    *.localhost, 127.x.x.x, [::1]) are exempt: browsers treat them as
 *    potentially trustworthy and no network attacker sits in between.
 *  - max_age above LINT_MAX_AGE_CAP (Chromium's cap; Firefox's is 86400).
 *  - headers: ["*"] in a policy that limits its origins. corsd answers a
 *    preflight with the requested names, so "*" admits Authorization, which a
 *    browser's own "*" never covers (Fetch). A policy that lists its origins
 *    is how an authenticated API is written (credentials: true together
 *    with "*" is a load error, which leaves Authorization as its credential),
 *    so there "*" hides whether Authorization is meant: list the headers. A
 *    public origins: ["*"] policy is not reported: any site may call it and a
 *    token in Authorization is the caller's own.
 *
 * Warnings are sorted by position, so they read top to bottom with the
 * file, and an entry shared by two policies through a YAML alias is
 * reported once when both yield the same warning. Rule texts are quoted the
 * way the loader quotes values in its errors.
 */
#include "lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A message is at most this long (diag keeps 1024 bytes of it). */
#define LINT_MSG_MAX 1024
/* Rule texts longer than this are cut in messages. */
#define LINT_QUOTE_MAX 160
/* Groups nested deeper than this in a regex leave it without a sample. */
#define LINT_GROUP_DEPTH_MAX 32

/* ---- collected warnings, sorted before they reach the diag list ---- */

struct finding {
	int line, col;
	char *msg;
};

struct findings {
	struct diag_list *d;
	struct finding *v;
	size_t n, cap;
	size_t added; /* warnings already given to d */
};

__attribute__((format(printf, 4, 5))) static void fadd(struct findings *f, int line, int col,
                                                       const char *fmt, ...)
{
	char buf[LINT_MSG_MAX];
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct finding *v = realloc(f->v, cap * sizeof(*v));

		if (v) {
			f->v = v;
			f->cap = cap;
		}
	}
	msg = f->n < f->cap ? strdup(buf) : NULL;
	if (!msg) {
		/* Out of memory: the order is cosmetic, the warning is not. */
		diag_warn(f->d, line, col, "%s", buf);
		f->added++;
		return;
	}
	f->v[f->n++] = (struct finding){.line = line, .col = col, .msg = msg};
}

static int finding_cmp(const void *a, const void *b)
{
	const struct finding *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return strcmp(x->msg, y->msg);
}

static void flush(struct findings *f)
{
	if (f->n > 1)
		qsort(f->v, f->n, sizeof(*f->v), finding_cmp);
	for (size_t i = 0; i < f->n; i++) {
		if (i == 0 || finding_cmp(&f->v[i - 1], &f->v[i]) != 0) {
			diag_warn(f->d, f->v[i].line, f->v[i].col, "%s", f->v[i].msg);
			f->added++;
		}
	}
	for (size_t i = 0; i < f->n; i++)
		free(f->v[i].msg);
	free(f->v);
	f->v = NULL;
	f->n = f->cap = 0;
}

/* The rule as written, in double quotes with '"' and '\\' escaped and
 * control or non-ASCII bytes as \xHH, the way the loader quotes values
 * (it is then what one writes in a double-quoted YAML string), cut after
 * LINT_QUOTE_MAX bytes. */
struct quoted {
	char s[LINT_QUOTE_MAX * 4 + 8];
};

static const char *quote(const char *t, struct quoted *q)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	q->s[o++] = '"';
	for (size_t i = 0; t[i]; i++) {
		unsigned char c = (unsigned char)t[i];

		if (i == LINT_QUOTE_MAX) {
			memcpy(q->s + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			q->s[o++] = '\\';
			q->s[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			q->s[o++] = '\\';
			q->s[o++] = 'x';
			q->s[o++] = hex[c >> 4];
			q->s[o++] = hex[c & 15];
		} else {
			q->s[o++] = (char)c;
		}
	}
	q->s[o++] = '"';
	q->s[o] = '\0';
	return q->s;
}

/* ---- hosts ---- */

static bool is_ip(const char *h, size_t n)
{
	if (n > 0 && h[0] == '[')
		return true;
	for (size_t i = 0; i < n; i++)
		if (!(h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
			return false;
	return true;
}

static bool is_loopback(const char *h, size_t n)
{
	static const char lh[] = ".localhost";
	size_t lhn = sizeof(lh) - 1;

	if ((n == lhn - 1 && memcmp(h, lh + 1, n) == 0) ||
	    (n > lhn && memcmp(h + n - lhn, lh, lhn) == 0))
		return true;
	if (n == 5 && memcmp(h, "[::1]", 5) == 0)
		return true;
	return is_ip(h, n) && n > 4 && memcmp(h, "127.", 4) == 0;
}

/* Where the registrable domain of h starts: one label more than the
 * longest public suffix h ends with, from lint_suffixes.c or else its last
 * label. A host that is itself a public suffix is its own. */
static size_t registrable_off(const char *h, size_t n)
{
	size_t ps = 0, j;
	bool found = false;

	if (n > 0 && h[n - 1] == '.')
		n--; /* a trailing dot is not a label */
	for (size_t i = 0; i < n && !found; i++) {
		if ((i == 0 || h[i - 1] == '.') && lint_is_public_suffix(h + i, n - i)) {
			ps = i;
			found = true;
		}
	}
	if (!found) {
		const char *dot = NULL;

		for (size_t i = 0; i < n; i++)
			if (h[i] == '.')
				dot = h + i;
		ps = dot ? (size_t)(dot - h) + 1 : 0;
	}
	if (ps < 2)
		return 0;
	for (j = ps - 1; j > 0 && h[j - 1] != '.'; j--)
		;
	return j;
}

/* ---- the sample origin of a rule ---- */

static bool accepts(const struct origin_rule *r, const char *origin)
{
	struct origin_norm o;

	return origin_normalize(str_c(origin), &o) == 0 && origin_rule_match(r, &o);
}

/* "scheme://host[:port]" into out; false when it does not fit. */
static bool make_origin(char *out, size_t size, const char *scheme, size_t slen, const char *h1,
                        size_t n1, const char *h2, size_t n2, int port)
{
	int w;

	if (port > 0)
		w = snprintf(out, size, "%.*s://%.*s%.*s:%d", (int)slen, scheme, (int)n1, h1,
		             (int)n2, h2, port);
	else
		w = snprintf(out, size, "%.*s://%.*s%.*s", (int)slen, scheme, (int)n1, h1, (int)n2,
		             h2);
	return w > 0 && (size_t)w < size;
}

static bool wildcard_sample(const struct origin_rule *r, struct origin_norm *s)
{
	char buf[ORIGIN_MAX + 16];
	size_t sl = strlen(r->scheme), hl = strlen(r->suffix);

	if (!make_origin(buf, sizeof(buf), r->scheme, sl, "x", 1, r->suffix, hl,
	                 r->port > 0 ? r->port : -1))
		return false;
	return origin_normalize(str_c(buf), s) == 0 && origin_rule_match(r, s);
}

/* A regex's sample is built into this; longer is not an origin anyway. */
struct sample {
	char s[ORIGIN_MAX + 2];
	size_t n;
	bool full; /* too long, or too deep: no sample */
	int depth; /* of groups, at the atom being read */
};

static void put(struct sample *b, char c, bool silent)
{
	if (silent)
		return;
	if (b->n < sizeof(b->s) - 1)
		b->s[b->n++] = c;
	else
		b->full = true;
}

/* One character the bracket expression at p accepts, most likely. */
static char bracket_pick(const char *p)
{
	p++;
	if (*p == '^')
		return 'x';
	if (p[0] == '[' && p[1] == ':')
		return strncmp(p + 2, "digit", 5) == 0 || strncmp(p + 2, "xdigit", 6) == 0 ? '1'
		                                                                           : 'a';
	/* [0-9] gives 1: port 0 is not an origin. */
	if (p[0] == '0' && p[1] == '-' && p[2] != ']')
		return '1';
	return p[0];
}

static const char *sample_seq(const char *p, struct sample *b, bool all, bool silent);

/* One atom at p into b; *any when it is an unescaped '.'. */
static const char *sample_atom(const char *p, struct sample *b, bool all, bool silent, bool *any)
{
	const char *end;

	*any = false;
	switch (*p) {
	case '(':
		/* Deeper nesting than any origin needs: give up on a sample
		 * rather than on the stack. */
		if (++b->depth > LINT_GROUP_DEPTH_MAX) {
			b->full = true;
			return p + strlen(p);
		}
		p = sample_seq(p + 1, b, all, silent);
		b->depth--;
		return *p == ')' ? p + 1 : p;
	case '\\':
		if (!p[1])
			return p + 1;
		/* GNU word-boundary escapes match no character; \w is a word one. */
		if (p[1] == 'w')
			put(b, 'a', silent);
		else if (!strchr("bB<>`'", p[1]))
			put(b, p[1], silent);
		return p + 2;
	case '[':
		put(b, bracket_pick(p), silent);
		end = origin_regex_bracket_end(p);
		return end ? end + 1 : p + strlen(p);
	case '.':
		*any = true;
		put(b, '.', silent);
		return p + 1;
	case '^':
	case '$':
		return p + 1;
	default:
		put(b, *p, silent);
		return p + 1;
	}
}

/* The end of an interval "{n}", "{n,}", "{n,m}" or "{,m}" at p, or NULL
 * (then '{' is an ordinary character); *optional when n is 0 or absent. */
static const char *interval_end(const char *p, bool *optional)
{
	const char *q = p + 1;
	bool zero = *q == ',' || (*q == '0' && (q[1] == ',' || q[1] == '}'));

	while (*q >= '0' && *q <= '9')
		q++;
	if (*q == ',')
		q++;
	while (*q >= '0' && *q <= '9')
		q++;
	if (*q != '}' || q == p + 1)
		return NULL;
	*optional |= zero;
	return q + 1;
}

/* Skips the quantifiers after an atom. */
static const char *quantifiers(const char *p, bool *quantified, bool *optional)
{
	const char *end;

	*quantified = *optional = false;
	for (;;) {
		if (*p == '?' || *p == '*') {
			*quantified = *optional = true;
			p++;
		} else if (*p == '+') {
			*quantified = true;
			p++;
		} else if (*p == '{' && (end = interval_end(p, optional))) {
			*quantified = true;
			p = end;
		} else {
			return p;
		}
	}
}

/* A sequence up to ')' or the end; only its first alternative is kept.
 * all: put optional atoms in once instead of leaving them out. */
static const char *sample_seq(const char *p, struct sample *b, bool all, bool silent)
{
	while (*p && *p != ')') {
		size_t start = b->n;
		bool any, quantified, optional;

		if (*p == '|') {
			silent = true;
			p++;
			continue;
		}
		p = sample_atom(p, b, all, silent, &any);
		p = quantifiers(p, &quantified, &optional);
		if (silent)
			continue;
		if (optional && !all)
			b->n = start;
		else if (any && quantified && b->n > start)
			b->s[start] = 'x'; /* ".+" stands for some label text */
	}
	return p;
}

static bool regex_sample(const struct origin_rule *r, struct origin_norm *s)
{
	for (int all = 0; all < 2; all++) {
		struct sample b;

		b.n = 0;
		b.full = false;
		b.depth = 0;
		sample_seq(r->text + 1, &b, all, false);
		if (b.full)
			return false;
		b.s[b.n] = '\0';
		if (origin_normalize((struct str){b.s, b.n}, s) != 0 || !origin_rule_match(r, s))
			continue;
		/* "https?" and the like: https is what the author is after, and
		 * whether http is asked for is decided apart (regex_names_http). */
		if (s->scheme_len == 4 && memcmp(s->buf, "http", 4) == 0) {
			struct origin_norm tls;
			char buf[ORIGIN_MAX + 2];

			snprintf(buf, sizeof(buf), "https%s", s->buf + 4);
			if (accepts(r, buf) && origin_normalize(str_c(buf), &tls) == 0)
				*s = tls;
		}
		return true;
	}
	return false;
}

/* Does the regex say something about ports: a ':' after "://", outside
 * bracket expressions? */
static bool regex_names_port(const char *re)
{
	const char *p = strstr(re, "://");

	if (!p)
		return false;
	for (p += 3; *p; p++) {
		if (*p == '\\' && p[1]) {
			p++;
		} else if (*p == '[') {
			const char *end = origin_regex_bracket_end(p);

			if (!end)
				return false;
			p = end;
		} else if (*p == ':') {
			return true;
		}
	}
	return false;
}

/* Does the regex name plain http: "http" followed by one of ":|)[(", or
 * "https?"? */
static bool regex_names_http(const char *re)
{
	for (const char *p = strstr(re, "http"); p; p = strstr(p + 4, "http")) {
		if (p[4] && strchr(":|)[(", p[4]))
			return true;
		if (p[4] == 's' && p[5] == '?')
			return true;
	}
	return false;
}

/* ---- the attacks ---- */

enum attack {
	ATTACK_SUFFIX,
	ATTACK_PREFIX,
	ATTACK_DOT,
	ATTACK_DOWNGRADE,
	ATTACK_PORT,
	ATTACK_PARENT,
	ATTACK_NULL,
	ATTACK_FOREIGN,
	ATTACK_COUNT
};

static const char *const attack_what[ATTACK_COUNT] = {
    [ATTACK_SUFFIX] = "\".evil.example\" appended",
    [ATTACK_PREFIX] = "\"evil\" prepended to the domain: anyone can register it",
    [ATTACK_DOT] = "a dot replaced: write \\\\. for a literal dot",
    [ATTACK_DOWNGRADE] = "the http:// downgrade, open to network attackers",
    [ATTACK_PORT] = "another port",
    [ATTACK_PARENT] = "the bare parent domain",
    [ATTACK_NULL] = "the opaque origin",
    [ATTACK_FOREIGN] = "an unrelated site: the rule accepts about any origin",
};

/* The http form of an https (wss) sample, or false. */
static bool downgrade(const struct origin_norm *s, char *out, size_t size)
{
	const char *h = s->buf + s->host_off;

	if (s->scheme_len == 5 && memcmp(s->buf, "https", 5) == 0)
		return make_origin(out, size, "http", 4, h, s->host_len, "", 0, s->port);
	if (s->scheme_len == 3 && memcmp(s->buf, "wss", 3) == 0)
		return make_origin(out, size, "ws", 2, h, s->host_len, "", 0, s->port);
	return false;
}

/* The attacks that need no sample origin. */
static void feed_foreign(const struct origin_rule *r, char hits[ATTACK_COUNT][ORIGIN_MAX + 16])
{
	static const char *const foreign[] = {"https://attacker.invalid",
	                                      "http://attacker.invalid"};

	for (int a = 0; a < ATTACK_COUNT; a++)
		hits[a][0] = '\0';
	if (accepts(r, "null"))
		strcpy(hits[ATTACK_NULL], "null");
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		if (accepts(r, foreign[i])) {
			strcpy(hits[ATTACK_FOREIGN], foreign[i]);
			break;
		}
	}
}

/* Feeds the attacks to r; hits[a] gets the first accepted origin of each.
 * Without a sample s, only those of feed_foreign. */
static void feed_attacks(const struct origin_rule *r, const struct origin_norm *s, bool port_asked,
                         bool http_asked, char hits[ATTACK_COUNT][ORIGIN_MAX + 16])
{
	const char *sch, *h, *dot;
	size_t sl, hn, roff;
	bool ip;
	char buf[ORIGIN_MAX + 16], host[ORIGIN_MAX + 8];

	feed_foreign(r, hits);
	if (s == NULL)
		return;
	sch = s->buf;
	h = s->buf + s->host_off;
	sl = s->scheme_len;
	hn = s->host_len;
	roff = registrable_off(h, hn);
	ip = is_ip(h, hn);
	if (make_origin(buf, sizeof(buf), sch, sl, h, hn, ".evil.example", 13, s->port) &&
	    accepts(r, buf))
		strcpy(hits[ATTACK_SUFFIX], buf);
	/* A single-label domain cannot be registered, with "evil" or not. */
	if (!ip && memchr(h + roff, '.', hn - roff) &&
	    make_origin(buf, sizeof(buf), sch, sl, "evil", 4, h + roff, hn - roff, s->port) &&
	    accepts(r, buf))
		strcpy(hits[ATTACK_PREFIX], buf);
	for (size_t i = 0; !ip && i + 1 < hn && !hits[ATTACK_DOT][0]; i++) {
		if (h[i] != '.')
			continue;
		memcpy(host, h, hn);
		host[i] = 'x';
		if (make_origin(buf, sizeof(buf), sch, sl, host, hn, "", 0, s->port) &&
		    accepts(r, buf))
			strcpy(hits[ATTACK_DOT], buf);
	}
	if (!http_asked && downgrade(s, buf, sizeof(buf)) && accepts(r, buf))
		strcpy(hits[ATTACK_DOWNGRADE], buf);
	if (!port_asked &&
	    make_origin(buf, sizeof(buf), sch, sl, h, hn, "", 0, s->port == 8443 ? 8444 : 8443) &&
	    accepts(r, buf))
		strcpy(hits[ATTACK_PORT], buf);
	dot = ip ? NULL : memchr(h, '.', hn);
	if (dot && (size_t)(dot - h) + 1 <= roff &&
	    make_origin(buf, sizeof(buf), sch, sl, dot + 1, hn - (size_t)(dot - h) - 1, "", 0,
	                s->port) &&
	    accepts(r, buf))
		strcpy(hits[ATTACK_PARENT], buf);
}

/* s may be NULL: the rule has no sample origin. */
static void lint_attacks(struct findings *f, const struct origin_rule *r,
                         const struct origin_norm *s, bool port_asked, bool http_asked)
{
	char hits[ATTACK_COUNT][ORIGIN_MAX + 16];
	char msg[LINT_MSG_MAX];
	struct quoted q;
	size_t n = 0, nhits = 0;
	int w;

	feed_attacks(r, s, port_asked, http_asked, hits);
	w = snprintf(msg, sizeof(msg), "origin %s accepts ", quote(r->text, &q));
	if (w > 0)
		n = (size_t)w;
	for (int a = 0; a < ATTACK_COUNT; a++) {
		if (!hits[a][0])
			continue;
		/* snprintf cuts what does not fit; diag keeps no more anyway. */
		if (n < sizeof(msg)) {
			w = snprintf(msg + n, sizeof(msg) - n, "%s\"%s\" (%s)", nhits ? ", " : "",
			             hits[a], attack_what[a]);
			if (w > 0)
				n += (size_t)w;
		}
		nhits++;
	}
	if (nhits > 0)
		fadd(f, r->line, r->col, "%s", msg);
}

/* ---- per rule ---- */

static bool scheme_is(const struct origin_norm *s, const char *scheme)
{
	return s->scheme_len == strlen(scheme) && memcmp(s->buf, scheme, s->scheme_len) == 0;
}

static void lint_credentialed_http(struct findings *f, const struct origin_rule *r,
                                   const struct origin_norm *s, bool http_asked)
{
	static const char why[] = "a network attacker can inject a script there and read "
	                          "responses with the user's cookies; use https";
	char buf[ORIGIN_MAX + 16];
	struct quoted q;

	if (is_loopback(s->buf + s->host_off, s->host_len))
		return;
	if (scheme_is(s, "http")) {
		if (r->kind == ORIGIN_RULE_REGEX)
			fadd(f, r->line, r->col,
			     "origin %s accepts plain http (\"%s\") with credentials: "
			     "true: %s",
			     quote(r->text, &q), s->buf, why);
		else
			fadd(f, r->line, r->col,
			     "origin %s is plain http with credentials: true: %s",
			     quote(r->text, &q), why);
	} else if (http_asked && downgrade(s, buf, sizeof(buf)) && accepts(r, buf)) {
		fadd(f, r->line, r->col,
		     "origin %s accepts plain http (\"%s\") with credentials: true: %s",
		     quote(r->text, &q), buf, why);
	}
}

static void lint_origin(struct findings *f, const struct policy_rule *pr,
                        const struct origin_rule *r)
{
	struct origin_norm s;
	bool have = false, port_asked = false, http_asked = false;
	struct quoted q;
	const char *ps;

	switch (r->kind) {
	case ORIGIN_RULE_ANY:
		return;
	case ORIGIN_RULE_NULL:
		if (pr->credentials)
			fadd(f, r->line, r->col,
			     "origin \"null\" with credentials: true: any site can get the opaque "
			     "origin (a sandboxed iframe, a data: URL) and read responses with the "
			     "user's cookies");
		return;
	case ORIGIN_RULE_EXACT:
		have = r->exact && origin_normalize(str_c(r->exact), &s) == 0;
		break;
	case ORIGIN_RULE_WILDCARD:
		if (!r->scheme || !r->suffix)
			return;
		have = wildcard_sample(r, &s);
		port_asked = r->port == 0;
		ps = lint_public_suffix_within(r->suffix + 1, strlen(r->suffix + 1));
		if (ps) {
			if (strcmp(ps, r->suffix + 1) == 0)
				fadd(f, r->line, r->col,
				     "origin %s: %s is a public suffix or shared-hosting domain "
				     "(anyone can get a site under it), so the wildcard trusts "
				     "strangers' sites; list the exact origins",
				     quote(r->text, &q), ps);
			else
				fadd(f, r->line, r->col,
				     "origin %s covers %s, a public suffix or shared-hosting "
				     "domain (anyone can get a site under it), so the wildcard "
				     "trusts strangers' sites; list the exact origins",
				     quote(r->text, &q), ps);
			if (have && pr->credentials)
				lint_credentialed_http(f, r, &s, false);
			return;
		}
		break;
	case ORIGIN_RULE_REGEX:
		if (!r->has_re)
			return;
		have = regex_sample(r, &s);
		port_asked = regex_names_port(r->text + 1);
		http_asked = regex_names_http(r->text + 1);
		if (!have) {
			/* No origin it is meant for: only what needs none. */
			lint_attacks(f, r, NULL, false, false);
			return;
		}
		break;
	}
	if (!have)
		return;
	if (pr->credentials)
		lint_credentialed_http(f, r, &s, http_asked);
	lint_attacks(f, r, &s, port_asked, http_asked);
}

static void lint_rule(struct findings *f, const struct policy_rule *pr)
{
	for (size_t i = 0; i < pr->norigins; i++)
		lint_origin(f, pr, &pr->origins[i]);
	if (pr->max_age > LINT_MAX_AGE_CAP)
		fadd(f, pr->max_age_line ? pr->max_age_line : pr->line,
		     pr->max_age_line ? pr->max_age_col : pr->col,
		     "max_age: %ld is above %d, Chromium's cap: Chromium caches the preflight for "
		     "%d s only, and browsers that honour more (Firefox: up to 86400) keep a stale "
		     "answer that long after the policy changes",
		     pr->max_age, LINT_MAX_AGE_CAP, LINT_MAX_AGE_CAP);
	if (pr->any_header && !pr->any_origin)
		fadd(f, pr->any_header_line ? pr->any_header_line : pr->line,
		     pr->any_header_line ? pr->any_header_col : pr->col,
		     "headers: [\"*\"] lets these origins send Authorization too: corsd names each "
		     "requested header, while a browser's own \"*\" never covers Authorization; "
		     "list the headers, with Authorization if the API expects it");
}

size_t lint_policy(const struct policy *p, struct diag_list *d)
{
	struct findings f = {.d = d};

	if (!p)
		return 0;
	for (size_t i = 0; i < p->nrules; i++)
		lint_rule(&f, &p->rules[i]);
	flush(&f);
	return f.added;
}
