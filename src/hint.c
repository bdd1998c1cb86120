/*
 * hint: the closest rule to a denied request, and how the request differs.
 *
 * "Closest" among the origin entries of the matched policy is a ranking in
 * tiers, then by the number of differences, then by host edit distance, then
 * by list order:
 *   0  the entry would accept the host; scheme or port differ
 *      (https vs http, 5173 vs 3000);
 *   1  a wildcard whose bare parent domain is the host (*.example.com vs
 *      example.com), which wildcards never cover;
 *   2  a related host: the same last two labels, one host a label suffix or
 *      a dotted prefix of the other (evil-example.com, example.com.evil.net),
 *      two loopback names, or a regex that names the host's domain;
 *   3  a host within HINT_HOST_EDITS edits (exmaple.com);
 *   4  nothing close: no entry is named unless it is the only one.
 * Only the host is measured, lengths are capped and the distance is banded,
 * so a denial costs a bounded few microseconds whatever the Origin.
 */
#include "hint.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "origin.h"

void hint_buf_init(struct hint_buf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->len = 0;
	b->cut = false;
	if (cap > 0)
		p[0] = '\0';
}

/* The buffer is full: its last three bytes say so. */
static void mark_cut(struct hint_buf *b)
{
	b->cut = true;
	if (b->cap >= 4)
		memcpy(b->p + b->cap - 4, "...", 3);
}

static void put_bytes(struct hint_buf *b, const char *s, size_t n)
{
	size_t room;

	if (b->cut || b->cap == 0)
		return;
	room = b->cap - 1 - b->len;
	if (n > room) {
		memcpy(b->p + b->len, s, room);
		b->len += room;
		b->p[b->len] = '\0';
		mark_cut(b);
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void hint_puts(struct hint_buf *b, const char *s)
{
	put_bytes(b, s, strlen(s));
}

void hint_put(struct hint_buf *b, struct str s)
{
	if (s.p)
		put_bytes(b, s.p, s.n);
}

void hint_printf(struct hint_buf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	put_bytes(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void hint_put_safe(struct hint_buf *b, struct str s, size_t max)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = s.n > max ? max : s.n, i = 0;

	while (s.p && i < n) {
		size_t run = i;
		unsigned char c;

		while (run < n && (unsigned char)s.p[run] >= 0x20 && (unsigned char)s.p[run] < 0x7f)
			run++;
		put_bytes(b, s.p + i, run - i);
		if (run == n)
			break;
		c = (unsigned char)s.p[run];
		put_bytes(b, (char[4]){'\\', 'x', hex[c >> 4], hex[c & 15]}, 4);
		i = run + 1;
	}
	if (s.n > max)
		put_bytes(b, "...", 3);
}

/* ---- edit distance ---- */

#define DIST_MAX_LEN 255

unsigned hint_distance(struct str a, struct str b, bool ci, unsigned max)
{
	unsigned rows[2][DIST_MAX_LEN + 1], *prev = rows[0], *cur = rows[1], *tmp;
	const unsigned far = max + 1;
	size_t n = a.n, m = b.n;

	if (n > DIST_MAX_LEN || m > DIST_MAX_LEN || (n > m ? n - m : m - n) > max)
		return far;
	for (size_t j = 0; j <= m; j++)
		prev[j] = j <= max ? (unsigned)j : far;
	/* Only the band |i - j| <= max can hold a distance within max; the
	 * cells just outside it are "far", so the work is O(max * n). */
	for (size_t i = 1; i <= n; i++) {
		size_t lo = i > max ? i - max : 0, hi = i + max < m ? i + max : m;
		unsigned best = far;

		if (lo == 0) {
			cur[0] = i <= max ? (unsigned)i : far;
			best = cur[0];
			lo = 1;
		} else {
			cur[lo - 1] = far;
		}
		for (size_t j = lo; j <= hi; j++) {
			char x = a.p[i - 1], y = b.p[j - 1];
			bool same = ci ? str_lower_c(x) == str_lower_c(y) : x == y;
			unsigned v = prev[j - 1] + (same ? 0 : 1);

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			cur[j] = v < far ? v : far;
			if (cur[j] < best)
				best = cur[j];
		}
		if (hi < m)
			cur[hi + 1] = far;
		if (best >= far)
			return far;
		tmp = prev;
		prev = cur;
		cur = tmp;
	}
	return prev[m] < far ? prev[m] : far;
}

/* ---- origins ---- */

/* scheme://host[:port] split into views; port -1 = the scheme's default. */
struct parts {
	struct str scheme, host;
	int port;
};

static int default_port(struct str scheme)
{
	if (str_eq(scheme, STR_LIT("http")) || str_eq(scheme, STR_LIT("ws")))
		return 80;
	if (str_eq(scheme, STR_LIT("https")) || str_eq(scheme, STR_LIT("wss")))
		return 443;
	return -1;
}

static int effective_port(int port, struct str scheme)
{
	return port >= 0 ? port : default_port(scheme);
}

/* An exact entry keeps its origin normalised, so this cannot fail on it. */
static void split_exact(const char *s, struct parts *out)
{
	const char *sep = strstr(s, "://"), *h, *end;

	out->port = -1;
	if (!sep) {
		out->scheme = STR_NULL;
		out->host = str_c(s);
		return;
	}
	out->scheme = (struct str){s, (size_t)(sep - s)};
	h = sep + 3;
	end = h[0] == '[' ? strchr(h, ']') : NULL;
	end = end ? end + 1 : h + strcspn(h, ":");
	out->host = (struct str){h, (size_t)(end - h)};
	if (*end == ':') {
		int port = 0;

		for (const char *d = end + 1; *d >= '0' && *d <= '9' && port < 65536; d++)
			port = port * 10 + (*d - '0');
		out->port = port;
	}
}

static bool is_ip_literal(struct str host)
{
	if (host.n > 0 && host.p[0] == '[')
		return true;
	for (size_t i = 0; i < host.n; i++)
		if (!((host.p[i] >= '0' && host.p[i] <= '9') || host.p[i] == '.'))
			return false;
	return host.n > 0;
}

/* The last k labels of host (the whole host when it has fewer, or is an IP
 * literal, which has no labels in this sense). */
static struct str last_labels(struct str host, unsigned k)
{
	size_t i = host.n;

	if (is_ip_literal(host))
		return host;
	while (i > 0) {
		if (host.p[i - 1] == '.' && --k == 0)
			return (struct str){host.p + i, host.n - i};
		i--;
	}
	return host;
}

static unsigned count_labels(struct str host)
{
	unsigned k = 1;

	for (size_t i = 0; i < host.n; i++)
		k += host.p[i] == '.';
	return k;
}

/* Does host end with domain at a label boundary (and is longer)? */
static bool is_label_suffix(struct str host, struct str domain)
{
	return host.n > domain.n && str_ends_with_ci(host, domain) &&
	       host.p[host.n - domain.n - 1] == '.';
}

/* Typos hide in short hosts; long ones are not worth the work. */
static unsigned host_distance(struct str a, struct str b)
{
	if (a.n > HINT_HOST_MEASURED || b.n > HINT_HOST_MEASURED)
		return HINT_HOST_EDITS + 1;
	return hint_distance(a, b, false, HINT_HOST_EDITS);
}

/* Does host hold domain as whole labels followed by more labels, as
 * app.example.com.evil.net holds app.example.com and example.com? */
static bool holds_labels(struct str host, struct str domain)
{
	if (domain.n == 0 || host.n <= domain.n || host.n > DIST_MAX_LEN)
		return false;
	for (size_t i = 0; i + domain.n < host.n; i++) {
		if ((i == 0 || host.p[i - 1] == '.') && host.p[i + domain.n] == '.' &&
		    memcmp(host.p + i, domain.p, domain.n) == 0)
			return true;
	}
	return false;
}

static bool is_loopback(struct str host)
{
	return str_eq(host, STR_LIT("localhost")) || str_eq(host, STR_LIT("127.0.0.1")) ||
	       str_eq(host, STR_LIT("[::1]")) || is_label_suffix(host, STR_LIT("localhost"));
}

/* The request's origin, with what every entry is compared on worked out
 * once. */
struct req {
	struct parts p;
	struct str last2; /* the host's last two labels */
	bool loopback, ip;
};

/* Two hosts a person would confuse without any edit-distance luck. */
static bool hosts_related(const struct req *q, struct str b)
{
	struct str a = q->p.host;

	if (q->loopback && is_loopback(b))
		return true;
	if (q->ip || is_ip_literal(b))
		return false;
	return str_eq(q->last2, last_labels(b, 2)) || is_label_suffix(a, b) ||
	       is_label_suffix(b, a) || holds_labels(a, b) || holds_labels(b, a);
}

/* Does the regex text spell domain, its dots written ".", "\." or "[.]"? */
static bool text_names_domain(const char *text, struct str domain)
{
	size_t tn = strlen(text);

	if (domain.n == 0 || domain.n > 64 || tn > 512)
		return false;
	for (size_t s = 0; s < tn; s++) {
		size_t t = s, d = 0;

		while (d < domain.n && t < tn) {
			if (domain.p[d] != '.') {
				if (str_lower_c(text[t]) != domain.p[d])
					break;
				t++;
			} else if (text[t] == '.') {
				t++;
			} else if (text[t] == '\\' && t + 1 < tn && text[t + 1] == '.') {
				t += 2;
			} else if (strncmp(text + t, "[.]", 3) == 0) {
				t += 3;
			} else {
				break;
			}
			d++;
		}
		if (d == domain.n)
			return true;
	}
	return false;
}

enum host_rel {
	HOST_SAME,   /* the entry accepts the host */
	HOST_OTHER,  /* an exact entry with another host */
	HOST_PARENT, /* the bare parent domain of a wildcard */
	HOST_NOT_SUB /* not a subdomain of a wildcard's domain */
};

struct cand {
	const struct origin_rule *o;
	int tier;
	unsigned ndiff, dist;
	enum host_rel host;
	bool d_scheme, d_port;
	struct parts e; /* the entry's scheme, host (wildcard: its domain), port */
};

static bool better(const struct cand *a, const struct cand *b)
{
	if (a->tier != b->tier)
		return a->tier < b->tier;
	if (a->ndiff != b->ndiff)
		return a->ndiff < b->ndiff;
	return a->dist < b->dist;
}

/* Ports differ only when both the written and the effective ports do:
 * http://x:443 and https://x share 443, http://x and https://x differ in
 * scheme only. eport 0: a wildcard's ":*". */
static bool ports_differ(const struct parts *req, int eport, struct str escheme)
{
	if (eport == 0)
		return false;
	return req->port != eport &&
	       effective_port(req->port, req->scheme) != effective_port(eport, escheme);
}

static void weigh_exact(const struct origin_rule *o, const struct req *q, struct cand *c)
{
	const struct parts *req = &q->p;

	split_exact(o->exact, &c->e);
	c->d_scheme = !str_eq(c->e.scheme, req->scheme);
	c->d_port = ports_differ(req, c->e.port, c->e.scheme);
	c->ndiff = c->d_scheme + c->d_port;
	if (str_eq(c->e.host, req->host)) {
		c->host = HOST_SAME;
		c->tier = 0;
		return;
	}
	c->host = HOST_OTHER;
	c->ndiff++;
	c->dist = host_distance(req->host, c->e.host);
	c->tier = hosts_related(q, c->e.host) ? 2 : c->dist <= HINT_HOST_EDITS ? 3 : 4;
}

static void weigh_wildcard(const struct origin_rule *o, const struct req *q, struct cand *c)
{
	const struct parts *req = &q->p;
	struct str suffix = str_c(o->suffix), domain = {suffix.p + 1, suffix.n - 1};

	c->e = (struct parts){str_c(o->scheme), domain, o->port};
	c->d_scheme = !str_eq(c->e.scheme, req->scheme);
	c->d_port = ports_differ(req, o->port, c->e.scheme);
	c->ndiff = c->d_scheme + c->d_port;
	if (is_label_suffix(req->host, domain)) {
		c->host = HOST_SAME;
		c->tier = 0;
		return;
	}
	c->ndiff++;
	if (str_eq(req->host, domain)) {
		c->host = HOST_PARENT;
		c->tier = 1;
		return;
	}
	c->host = HOST_NOT_SUB;
	c->dist = host_distance(last_labels(req->host, count_labels(domain)), domain);
	if (hosts_related(q, domain) || str_ends_with_ci(req->host, domain))
		c->tier = 2;
	else
		c->tier = c->dist <= HINT_HOST_EDITS ? 3 : 4;
}

static void weigh_regex(const struct origin_rule *o, const struct req *q, struct cand *c)
{
	c->ndiff = 1;
	c->dist = HINT_HOST_EDITS + 1;
	c->tier = text_names_domain(o->text, q->last2) ? 2 : 4;
}

static void put_port(struct hint_buf *b, int port, struct str scheme)
{
	int eff = effective_port(port, scheme);

	if (eff > 0)
		hint_printf(b, "%d", eff);
	else
		hint_puts(b, "none");
}

/* "scheme (http vs https), host (a vs b) and port (1 vs 2)" */
static void put_diffs(struct hint_buf *b, const struct parts *req, const struct cand *c,
                      bool with_host)
{
	unsigned n = c->d_scheme + c->d_port + (with_host ? 1 : 0), done = 0;

#define SEP() hint_puts(b, ++done == 1 ? "" : done == n ? " and " : ", ")
	if (c->d_scheme) {
		SEP();
		hint_puts(b, "scheme (");
		hint_put_safe(b, req->scheme, HINT_TOKEN_SHOWN);
		hint_puts(b, " vs ");
		hint_put_safe(b, c->e.scheme, HINT_TOKEN_SHOWN);
		hint_puts(b, ")");
	}
	if (with_host) {
		SEP();
		hint_puts(b, "host (");
		hint_put_safe(b, req->host, HINT_ORIGIN_SHOWN);
		hint_puts(b, " vs ");
		hint_put_safe(b, c->e.host, HINT_ORIGIN_SHOWN);
		hint_puts(b, ")");
	}
	if (c->d_port) {
		SEP();
		hint_puts(b, "port (");
		put_port(b, req->port, req->scheme);
		hint_puts(b, " vs ");
		put_port(b, c->e.port, c->e.scheme);
		hint_puts(b, ")");
	}
#undef SEP
}

static void describe(struct hint_buf *b, const struct parts *req, const struct cand *c)
{
	bool other = c->d_scheme || c->d_port;

	hint_puts(b, "closest entry `");
	hint_put_safe(b, str_c(c->o->text), HINT_ORIGIN_SHOWN);
	hint_puts(b, "` ");
	if (c->o->kind == ORIGIN_RULE_REGEX) {
		hint_puts(b, "is a regex that does not match it");
		return;
	}
	switch (c->host) {
	case HOST_SAME:
		if (!other) {
			hint_puts(b, "does not match it");
			return;
		}
		hint_puts(b, "differs in ");
		put_diffs(b, req, c, false);
		return;
	case HOST_OTHER:
		hint_puts(b, "differs in ");
		put_diffs(b, req, c, true);
		return;
	case HOST_PARENT:
		hint_puts(b, "does not cover the bare parent domain ");
		hint_put_safe(b, c->e.host, HINT_ORIGIN_SHOWN);
		break;
	case HOST_NOT_SUB:
		hint_puts(b, "does not cover it: ");
		hint_put_safe(b, req->host, HINT_ORIGIN_SHOWN);
		hint_puts(b, " is not a subdomain of ");
		hint_put_safe(b, c->e.host, HINT_ORIGIN_SHOWN);
		break;
	}
	if (other) {
		hint_puts(b, ", and differs in ");
		put_diffs(b, req, c, false);
	}
}

size_t hint_origin(const struct policy_rule *r, struct str origin, unsigned lines,
                   const struct origin_norm *norm, char *buf, size_t bufsz)
{
	struct hint_buf b;
	struct origin_norm own;
	struct req q;
	struct cand best = {0}, c;
	size_t n = r->norigins < HINT_MAX_ENTRIES ? r->norigins : HINT_MAX_ENTRIES, ncand = 0;

	hint_buf_init(&b, buf, bufsz);
	/* An Origin that is not one valid origin is never echoed: it is
	 * exactly the value a hostile client controls. */
	if (lines > 1) {
		hint_printf(&b, "origin not allowed: %u Origin header lines, where one is expected",
		            lines);
		return b.len;
	}
	if (!norm && origin_normalize(origin, &own) == 0)
		norm = &own;
	if (!norm) {
		hint_puts(&b, "origin not allowed: the Origin header is not one serialized origin "
		              "(scheme://host[:port])");
		return b.len;
	}
	hint_puts(&b, "origin `");
	hint_put_safe(&b, origin, HINT_ORIGIN_SHOWN);
	hint_puts(&b, "` not allowed: ");
	if (norm->is_null) {
		hint_puts(&b, "the opaque origin is allowed only by a \"null\" entry");
		return b.len;
	}
	q.p.scheme = (struct str){norm->buf, norm->scheme_len};
	q.p.host = (struct str){norm->buf + norm->host_off, norm->host_len};
	q.p.port = norm->port;
	q.last2 = last_labels(q.p.host, 2);
	q.loopback = is_loopback(q.p.host);
	q.ip = is_ip_literal(q.p.host);

	for (size_t i = 0; i < n; i++) {
		const struct origin_rule *o = &r->origins[i];

		memset(&c, 0, sizeof(c));
		c.o = o;
		if (o->kind == ORIGIN_RULE_EXACT && o->exact)
			weigh_exact(o, &q, &c);
		else if (o->kind == ORIGIN_RULE_WILDCARD && o->scheme && o->suffix)
			weigh_wildcard(o, &q, &c);
		else if (o->kind == ORIGIN_RULE_REGEX)
			weigh_regex(o, &q, &c);
		else
			continue; /* "*" would have matched; "null" is no comparison */
		if (ncand++ == 0 || better(&c, &best))
			best = c;
	}
	if (ncand == 0)
		hint_puts(&b, "the policy lists no origin to compare it with");
	else if (best.tier == 4 && ncand > 1)
		hint_printf(&b, "none of the policy's %zu origin entries is close", r->norigins);
	else
		describe(&b, &q.p, &best);
	return b.len;
}

/* ---- methods and headers ---- */

static bool is_safelisted(struct str m)
{
	return str_eq(m, STR_LIT("GET")) || str_eq(m, STR_LIT("HEAD")) ||
	       str_eq(m, STR_LIT("POST"));
}

size_t hint_method(const struct policy_rule *r, struct str method, char *buf, size_t bufsz)
{
	static const char *const safe[] = {"GET", "HEAD", "POST"};
	struct hint_buf b;
	const char *twin = NULL;

	hint_buf_init(&b, buf, bufsz);
	if (!str_is_token(method)) {
		hint_puts(&b, "method not allowed: Access-Control-Request-Method is not a token");
		return b.len;
	}
	hint_puts(&b, "method `");
	hint_put_safe(&b, method, HINT_TOKEN_SHOWN);
	hint_puts(&b, "` not allowed: not in methods [");
	hint_put_safe(&b, str_c(r->allow_methods_value), HINT_LIST_SHOWN);
	hint_puts(&b, "]");
	for (size_t i = 0; !twin && i < r->nmethods; i++)
		if (str_eq_ci(method, str_c(r->methods[i])))
			twin = r->methods[i];
	for (size_t i = 0; !twin && i < 3; i++)
		if (str_eq_ci(method, str_c(safe[i])))
			twin = safe[i];
	if (twin && !is_safelisted(method)) {
		hint_puts(&b, "; methods compare case-sensitively: `");
		hint_put_safe(&b, method, HINT_TOKEN_SHOWN);
		hint_puts(&b, "` is not `");
		hint_put_safe(&b, str_c(twin), HINT_TOKEN_SHOWN);
		hint_puts(&b, "`");
	}
	return b.len;
}

size_t hint_header(const struct policy_rule *r, struct str name, char *buf, size_t bufsz)
{
	struct hint_buf b;
	const char *near = NULL;
	unsigned near_dist = HINT_HEADER_EDITS + 1;
	size_t shown = 0;

	hint_buf_init(&b, buf, bufsz);
	hint_puts(&b, "header `");
	hint_put_safe(&b, name, HINT_TOKEN_SHOWN);
	hint_puts(&b, "` not allowed: not in headers [");
	for (size_t i = 0; i < r->nheaders; i++) {
		struct str h = str_c(r->headers[i]);
		unsigned d = hint_distance(name, h, true, HINT_HEADER_EDITS);

		if (d < near_dist) {
			near_dist = d;
			near = r->headers[i];
		}
		if (shown > HINT_LIST_SHOWN)
			continue;
		if (i > 0)
			hint_puts(&b, ", ");
		shown += h.n + 2;
		if (shown > HINT_LIST_SHOWN) {
			hint_puts(&b, "...");
			continue;
		}
		hint_put_safe(&b, h, HINT_TOKEN_SHOWN);
	}
	hint_puts(&b, "]");
	if (near) {
		hint_puts(&b, "; `");
		hint_put_safe(&b, str_c(near), HINT_TOKEN_SHOWN);
		hint_printf(&b, "` is %u edit%s away", near_dist, near_dist == 1 ? "" : "s");
	}
	return b.len;
}
