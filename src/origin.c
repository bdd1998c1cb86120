/*
 * origin: serialized origins and the origin rules of a policy.
 *
 * Decisions the contract leaves open, made here:
 *  - A trailing dot in a host is accepted and kept: "https://example.com."
 *    is a valid origin (browsers send it for such a URL) but a different one
 *    from "https://example.com", so it never matches a rule written without
 *    the dot. Wildcard rules may not end in a dot.
 *  - Port 0 is rejected: no browser fetches from it, and a wildcard rule
 *    stores port 0 as "any port".
 *  - An IPv6 literal is validated with inet_pton() and kept as written,
 *    lowercased; it is not re-serialised, so rules should use the
 *    compressed form browsers send ("[::1]", not "[0:0::1]").
 *  - A wildcard needs at least two labels after "*." ("*.com" is an
 *    error): a wildcard over a whole top-level domain is never intended.
 */
#include "origin.h"

#include <arpa/inet.h>
#include <limits.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The messages below spell the limit out. */
_Static_assert(ORIGIN_MAX == 512, "update the \"longer than\" messages");

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_scheme_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}

static bool is_host_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_';
}

static int default_port(const char *scheme, size_t n)
{
	if ((n == 4 && memcmp(scheme, "http", 4) == 0) || (n == 2 && memcmp(scheme, "ws", 2) == 0))
		return 80;
	if ((n == 5 && memcmp(scheme, "https", 5) == 0) ||
	    (n == 3 && memcmp(scheme, "wss", 3) == 0))
		return 443;
	return -1;
}

/* Bytes that can never appear in an origin, reported before any structure
 * so that a header smuggling a second value is named for what it is. */
static const char *scan_bytes(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x20 || c == 0x7f)
			return "contains a control character (CR, LF, NUL, ...)";
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c >= 0x80)
			return "contains non-ASCII bytes (write the host in its xn-- form)";
		if (c == ' ')
			return "contains a space (one origin per entry)";
		if (c == ',')
			return "contains a comma (one origin per entry)";
	}
	return NULL;
}

/* Copies "[...]" at p (n bytes, brackets included) into w after checking
 * it is an IPv6 address. */
static const char *parse_ipv6(const char *p, size_t n, char *w)
{
	char tmp[INET6_ADDRSTRLEN];
	unsigned char addr[16];
	size_t inner = n - 2;

	if (n < 2 || p[n - 1] != ']' || inner == 0 || inner >= sizeof(tmp))
		return "invalid IPv6 literal";
	for (size_t i = 0; i < inner; i++) {
		char c = p[1 + i];

		if (!is_hex(c) && c != ':' && c != '.')
			return "invalid IPv6 literal";
		tmp[i] = c;
	}
	tmp[inner] = '\0';
	if (inet_pton(AF_INET6, tmp, addr) != 1)
		return "invalid IPv6 literal";
	memcpy(w, p, n);
	str_lower(w, n);
	return NULL;
}

static const char *parse_regname(const char *p, size_t n, char *w)
{
	if (n == 0)
		return "empty host";
	for (size_t i = 0; i < n; i++) {
		if (!is_host_char(p[i]))
			return "invalid character in host";
		/* A single trailing dot is fine (see the top of the file). */
		if (p[i] == '.' && (i == 0 || p[i - 1] == '.'))
			return "empty label in host";
	}
	memcpy(w, p, n);
	str_lower(w, n);
	return NULL;
}

/* Returns the port (1..65535) or -1 with *why set. */
static long parse_port(const char *p, size_t n, const char **why)
{
	long v = 0;

	if (n == 0) {
		*why = "empty port after ':'";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i])) {
			*why = "port is not a decimal number";
			return -1;
		}
	}
	if (n > 5) {
		*why = "port has more than 5 digits";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	if (v == 0 || v > 65535) {
		*why = "port out of range (1-65535)";
		return -1;
	}
	return v;
}

/* The parser behind origin_normalize(); returns NULL or why raw is not an
 * origin, so the loader's messages and the wire agree on what is valid. */
static const char *parse_origin(struct str raw, struct origin_norm *o)
{
	const char *p = raw.p, *why;
	size_t n = raw.n, i, auth, aend, hend, w;
	long port = -1;

	memset(o, 0, sizeof(*o));
	o->port = -1;
	if (!p || n == 0)
		return "empty";
	if (n > ORIGIN_MAX)
		return "longer than 512 bytes";
	why = scan_bytes(p, n);
	if (why)
		return why;
	if (n == 4 && memcmp(p, "null", 4) == 0) {
		o->is_null = true;
		memcpy(o->buf, "null", 5);
		o->len = 4;
		return NULL;
	}

	if (!is_alpha(p[0]))
		return "expected scheme://host[:port]";
	for (i = 1; i < n && p[i] != ':'; i++) {
		if (!is_scheme_char(p[i]))
			return "expected scheme://host[:port]";
	}
	if (n - i < 3 || p[i + 1] != '/' || p[i + 2] != '/')
		return "expected scheme://host[:port]";
	memcpy(o->buf, p, i);
	str_lower(o->buf, i);
	memcpy(o->buf + i, "://", 3);
	o->scheme_len = i;
	o->host_off = i + 3;

	auth = i + 3;
	for (aend = auth; aend < n; aend++) {
		if (p[aend] == '/' || p[aend] == '?' || p[aend] == '#')
			break;
	}
	if (memchr(p + auth, '@', aend - auth))
		return "has userinfo ('@')";
	if (memchr(p + auth, '%', aend - auth))
		return "is percent-encoded";

	if (auth < aend && p[auth] == '[') {
		const char *close = memchr(p + auth, ']', aend - auth);

		hend = close ? (size_t)(close - p) + 1 : aend;
		why = parse_ipv6(p + auth, hend - auth, o->buf + auth);
	} else {
		const char *colon = memchr(p + auth, ':', aend - auth);

		hend = colon ? (size_t)(colon - p) : aend;
		why = parse_regname(p + auth, hend - auth, o->buf + auth);
	}
	if (why)
		return why;
	o->host_len = hend - auth;
	w = hend;

	if (hend < aend) {
		if (p[hend] != ':')
			return "invalid character after the host";
		port = parse_port(p + hend + 1, aend - hend - 1, &why);
		if (port < 0)
			return why;
	}
	if (aend < n) {
		if (p[aend] == '/')
			return "has a path (nothing may follow host[:port], not even '/')";
		if (p[aend] == '?')
			return "has a query";
		return "has a fragment";
	}

	if (port >= 0 && port != default_port(o->buf, o->scheme_len)) {
		/* Shorter than the digits it came from, so it fits in buf. */
		w += (size_t)snprintf(o->buf + w, sizeof(o->buf) - w, ":%ld", port);
		o->port = (int)port;
	}
	o->buf[w] = '\0';
	o->len = w;
	return NULL;
}

int origin_normalize(struct str raw, struct origin_norm *out)
{
	return parse_origin(raw, out) ? -1 : 0;
}

const char *origin_regex_bracket_end(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p; p++) {
		if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
			char delim = p[1];

			for (p += 2; *p && !(p[0] == delim && p[1] == ']'); p++)
				;
			if (!*p)
				return NULL;
			p++;
		} else if (*p == ']') {
			return p;
		}
	}
	return NULL;
}

/*
 * Wrapping in "^(...)$" anchors only if every ')' of the author closes one
 * of their own '(': glibc reads an unmatched ')' as a literal, so
 * "a)|(b" would compile and turn the wrapper into "^(a)|(b)$".
 */
static const char *regex_groups_closed(const char *re)
{
	int depth = 0;

	for (const char *p = re; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return "trailing backslash";
			p++;
		} else if (*p == '[') {
			p = origin_regex_bracket_end(p);
			if (!p)
				return "unterminated '['";
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (depth == 0)
				return "unmatched ')' would defeat the anchoring";
			depth--;
		}
	}
	return depth ? "unmatched '('" : NULL;
}

/* glibc compiles a bounded repetition by copying its operand, so nested
 * counts multiply: "^.{0,255}{0,255}$" takes regcomp half a minute. This
 * estimates the expanded size (atoms times the counts around them) before
 * compiling; an origin needs nowhere near the cap. */
#define REGEX_MAX_EXPANDED 2000
#define REGEX_MAX_DEPTH 64

static unsigned long regex_expanded_size(const char *re)
{
	/* Per open group: its content so far and the operand of the next
	 * quantifier, which is the last atom or group. */
	unsigned long content[REGEX_MAX_DEPTH + 1] = {0}, last[REGEX_MAX_DEPTH + 1] = {0};
	int depth = 0;
	const unsigned long cap = REGEX_MAX_EXPANDED + 1;

	for (const char *p = re; *p; p++) {
		unsigned long atom = 1;
		if (*p == '\\') {
			if (p[1])
				p++;
		} else if (*p == '[') {
			const char *e = origin_regex_bracket_end(p);
			if (e == NULL)
				break;
			p = e;
		} else if (*p == '(') {
			if (depth == REGEX_MAX_DEPTH)
				return cap;
			depth++;
			content[depth] = last[depth] = 0;
			continue;
		} else if (*p == ')' && depth > 0) {
			atom = content[depth] ? content[depth] : 1;
			depth--;
		} else if (*p == '{') {
			char *end;
			unsigned long m = strtoul(p + 1, &end, 10), bound = m;
			if (*end == ',') {
				bound = strtoul(end + 1, &end, 10);
				if (bound == 0) /* "{m,}": one more copy plus a star */
					bound = m + 1;
			}
			if (*end != '}' || bound > cap)
				return *end == '}' ? cap : content[depth];
			content[depth] += last[depth] * (bound > 0 ? bound - 1 : 0);
			last[depth] *= bound > 0 ? bound : 1;
			if (content[depth] > cap || last[depth] > cap)
				return cap;
			p = end;
			continue;
		} else if (*p == '+') {
			/* glibc compiles "x+" as "xx*", copying its operand:
			 * "a++++" doubles four times. */
			content[depth] += last[depth];
			last[depth] *= 2;
			if (content[depth] > cap || last[depth] > cap)
				return cap;
			continue;
		} else if (*p == '*' || *p == '?' || *p == '|') {
			continue;
		}
		content[depth] += atom;
		last[depth] = atom;
		if (content[depth] > cap)
			return cap;
	}
	return content[0] + (depth > 0 ? content[depth] : 0);
}

/*
 * glibc also copies the operand of "+" and of a count, and working out which
 * states an empty match reaches explodes when that operand can match the
 * empty string itself: "(a?)++++++", "((((a?)+)+)+)+" or "(a?){1,1000}" keep
 * regcomp busy for minutes at a few states, and sixty nested "(a*)*" for
 * seconds. Such a repetition says nothing an origin needs ("(a?)+" and
 * "(a*)*" are "a*"), so it is refused. So are two
 * quantifiers in a row, whose meaning POSIX leaves undefined and which glibc
 * also compiles into ever larger empty-match closures ("a" and 80 "*" take a
 * second, "(x)" and a hundred "?" minutes; "a*?" is not PCRE's lazy star
 * here either). Per open group: can an alternative seen so far, the items
 * before the last one, and the last one (atom or group, with its
 * quantifiers) match ""? Returns why the regex is refused, or NULL.
 */
static const char *regex_repeats(const char *re)
{
	static const char *const empty_msg =
	    "a part that can match the empty string is repeated (\"(a?)+\", \"(a*)*\"); "
	    "write \"a*\"";
	static const char *const stacked_msg =
	    "two quantifiers in a row (as in \"a*?\" or \"a++\") have no defined meaning";
	bool quantified = false;
	bool alt[REGEX_MAX_DEPTH + 1], before[REGEX_MAX_DEPTH + 1];
	bool has_last[REGEX_MAX_DEPTH + 1], last[REGEX_MAX_DEPTH + 1];
	int depth = 0;

	alt[0] = has_last[0] = last[0] = false;
	before[0] = true;
	for (const char *p = re; *p; p++) {
		bool empty = false, was_quantified = quantified;

		quantified = false;
		if (*p == '\\') {
			if (!p[1])
				break;
			p++;
			/* A back-reference may repeat an empty match. */
			empty = *p >= '1' && *p <= '9';
		} else if (*p == '[') {
			p = origin_regex_bracket_end(p);
			if (p == NULL)
				break;
		} else if (*p == '(') {
			if (depth == REGEX_MAX_DEPTH)
				return NULL; /* regex_expanded_size refuses it */
			depth++;
			alt[depth] = has_last[depth] = last[depth] = false;
			before[depth] = true;
			continue;
		} else if (*p == ')' && depth > 0) {
			empty = alt[depth] || (before[depth] && (!has_last[depth] || last[depth]));
			depth--;
		} else if (*p == '|') {
			alt[depth] =
			    alt[depth] || (before[depth] && (!has_last[depth] || last[depth]));
			before[depth] = true;
			has_last[depth] = last[depth] = false;
			continue;
		} else if (*p == '*' || *p == '?') {
			if (was_quantified)
				return stacked_msg;
			if (*p == '*' && has_last[depth] && last[depth])
				return empty_msg;
			quantified = true;
			last[depth] = true;
			continue;
		} else if (*p == '+' || *p == '{') {
			unsigned long m = 1, n = ULONG_MAX;

			if (*p == '{') {
				char *end, *q;

				m = n = strtoul(p + 1, &end, 10);
				if (*end == ',') {
					q = end + 1;
					n = strtoul(q, &end, 10);
					if (end == q)
						n = ULONG_MAX;
				}
				if (*end != '}')
					goto atom; /* not a count: regcomp judges it */
				p = end;
			}
			if (was_quantified)
				return stacked_msg;
			if (has_last[depth] && last[depth] && n > 1)
				return empty_msg;
			quantified = true;
			if (m == 0)
				last[depth] = true;
			continue;
		} else if (*p == '^' || *p == '$') {
			empty = true;
		}
	atom:
		before[depth] = before[depth] && (!has_last[depth] || last[depth]);
		has_last[depth] = true;
		last[depth] = empty;
	}
	return NULL;
}

static int parse_regex(const char *src, struct origin_rule *r, char *err, size_t errsz)
{
	size_t n = strlen(src), bs = 0;
	char *wrapped = NULL, msg[256];
	const char *why;
	int rc;

	if (n > 0 && src[0] == '^') {
		src++;
		n--;
	}
	/* "$" is the author's anchor only when not escaped as "\$". */
	while (bs + 1 < n && src[n - 2 - bs] == '\\')
		bs++;
	if (n > 0 && src[n - 1] == '$' && bs % 2 == 0)
		n--;
	if (n == 0) {
		snprintf(err, errsz, "invalid regex: empty");
		return -1;
	}

	wrapped = malloc(n + 5);
	if (!wrapped) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	memcpy(wrapped, "^(", 2);
	memcpy(wrapped + 2, src, n);
	memcpy(wrapped + 2 + n, ")$", 3);

	if (regex_expanded_size(wrapped) > REGEX_MAX_EXPANDED) {
		snprintf(err, errsz,
		         "invalid regex: too large once its {m,n} counts are expanded (over %d "
		         "states); use * or + instead of large or nested counts",
		         REGEX_MAX_EXPANDED);
		goto fail;
	}
	why = regex_repeats(wrapped);
	if (why) {
		snprintf(err, errsz, "invalid regex: %s", why);
		goto fail;
	}
	rc = regcomp(&r->re, wrapped, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		regerror(rc, &r->re, msg, sizeof(msg));
		snprintf(err, errsz, "invalid regex: %s", msg);
		goto fail;
	}
	r->has_re = true;
	/* The checked text is the author's alone, so a trailing "\" cannot
	 * pair with the wrapper's ')'. */
	wrapped[2 + n] = '\0';
	why = regex_groups_closed(wrapped + 2);
	if (why) {
		snprintf(err, errsz, "invalid regex: %s", why);
		goto fail;
	}
	free(wrapped);
	return 0;
fail:
	free(wrapped);
	return -1;
}

static int parse_wildcard(const char *text, struct origin_rule *r, char *err, size_t errsz)
{
	char cand[ORIGIN_MAX + 2];
	struct origin_norm o;
	const char *sep, *why;
	size_t n = strlen(text), slen, clen;
	bool any_port = false;

	if (n > ORIGIN_MAX) {
		snprintf(err, errsz, "invalid wildcard origin: longer than 512 bytes");
		return -1;
	}
	sep = strstr(text, "://");
	if (!sep) {
		snprintf(err, errsz, "wildcard origin needs a scheme, as in https://*.example.com");
		return -1;
	}
	slen = (size_t)(sep - text);
	if (strncmp(sep + 3, "*.", 2) != 0 || memchr(text, '*', slen)) {
		snprintf(
		    err, errsz,
		    "'*' must be the whole first label of the host, as in https://*.example.com");
		return -1;
	}

	/* Validate the rest as the origin "scheme://x.rest" would be, so both
	 * kinds of entry accept exactly the same hosts and ports. */
	memcpy(cand, text, slen + 3);
	cand[slen + 3] = 'x';
	memcpy(cand + slen + 4, sep + 4, n - slen - 4 + 1);
	clen = n;
	if (clen >= 2 && memcmp(cand + clen - 2, ":*", 2) == 0) {
		any_port = true;
		clen -= 2;
		cand[clen] = '\0';
	}
	if (memchr(cand, '*', clen)) {
		snprintf(err, errsz, "only one '*' is allowed, as the first label of the host");
		return -1;
	}
	why = parse_origin((struct str){cand, clen}, &o);
	if (why) {
		snprintf(err, errsz, "invalid wildcard origin: %s", why);
		return -1;
	}
	if (o.is_null || o.buf[o.host_off] == '[') {
		snprintf(err, errsz, "invalid wildcard origin: '*.' needs a domain name");
		return -1;
	}
	if (o.buf[o.host_off + o.host_len - 1] == '.') {
		snprintf(err, errsz, "invalid wildcard origin: trailing dot after the domain");
		return -1;
	}
	/* The suffix starts after "x"; it must hold a dot beyond its first. */
	if (!memchr(o.buf + o.host_off + 2, '.', o.host_len - 2)) {
		snprintf(err, errsz,
		         "wildcard over a top-level domain is too broad: name at least two labels "
		         "after '*.'");
		return -1;
	}

	r->scheme = str_dup((struct str){o.buf, o.scheme_len});
	r->suffix = str_dup((struct str){o.buf + o.host_off + 1, o.host_len - 1});
	if (!r->scheme || !r->suffix) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	r->port = any_port ? 0 : o.port;
	return 0;
}

static int parse_exact(const char *text, struct origin_rule *r, char *err, size_t errsz)
{
	struct origin_norm o;
	const char *why = parse_origin(str_c(text), &o);

	if (why) {
		/* The usual slip is "NULL" or "Null" for the opaque origin. */
		if (strlen(text) == 4 && str_eq_ci(str_c(text), STR_LIT("null")))
			snprintf(err, errsz, "the opaque origin is written \"null\", in lowercase");
		else
			snprintf(err, errsz, "not a valid origin: %s", why);
		return -1;
	}
	r->exact = str_dup((struct str){o.buf, o.len});
	if (!r->exact) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	return 0;
}

int origin_rule_parse(const char *text, struct origin_rule *out, char *err, size_t errsz)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->port = -1;
	if (!text) {
		snprintf(err, errsz, "not a valid origin: empty");
		return -1;
	}
	out->text = str_dup(str_c(text));
	if (!out->text) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}

	if (strcmp(text, "*") == 0) {
		out->kind = ORIGIN_RULE_ANY;
		return 0;
	}
	if (strcmp(text, "null") == 0) {
		out->kind = ORIGIN_RULE_NULL;
		return 0;
	}
	if (text[0] == '~') {
		out->kind = ORIGIN_RULE_REGEX;
		rc = parse_regex(text + 1, out, err, errsz);
	} else if (strchr(text, '*')) {
		out->kind = ORIGIN_RULE_WILDCARD;
		rc = parse_wildcard(text, out, err, errsz);
	} else {
		out->kind = ORIGIN_RULE_EXACT;
		rc = parse_exact(text, out, err, errsz);
	}
	if (rc != 0)
		origin_rule_free(out);
	return rc;
}

void origin_rule_free(struct origin_rule *r)
{
	if (!r)
		return;
	free(r->text);
	free(r->exact);
	free(r->scheme);
	free(r->suffix);
	r->text = r->exact = r->scheme = r->suffix = NULL;
	if (r->has_re)
		regfree(&r->re);
	r->has_re = false;
}

static bool wildcard_match(const struct origin_rule *r, const struct origin_norm *o)
{
	const char *host = o->buf + o->host_off;
	size_t slen = strlen(r->suffix), plen;

	if (strlen(r->scheme) != o->scheme_len || memcmp(r->scheme, o->buf, o->scheme_len) != 0)
		return false;
	/* At least one whole, non-empty label must stand in for the '*'. */
	if (o->host_len <= slen || memcmp(host + o->host_len - slen, r->suffix, slen) != 0)
		return false;
	plen = o->host_len - slen;
	if (host[0] == '.' || host[plen - 1] == '.')
		return false;
	if (r->port == 0)
		return true;
	return o->port == r->port;
}

bool origin_rule_match(const struct origin_rule *r, const struct origin_norm *o)
{
	if (!r || !o)
		return false;
	switch (r->kind) {
	case ORIGIN_RULE_ANY:
		return true;
	case ORIGIN_RULE_NULL:
		return o->is_null;
	case ORIGIN_RULE_EXACT:
		return !o->is_null && r->exact && strlen(r->exact) == o->len &&
		       memcmp(r->exact, o->buf, o->len) == 0;
	case ORIGIN_RULE_WILDCARD:
		return !o->is_null && r->scheme && r->suffix && wildcard_match(r, o);
	case ORIGIN_RULE_REGEX:
		return !o->is_null && r->has_re && regexec(&r->re, o->buf, 0, NULL, 0) == 0;
	}
	return false;
}
