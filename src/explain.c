/*
 * explain: the decision of cors.c told step by step, as text or JSON.
 *
 * The trace is derived after the fact rather than recorded by cors_decide:
 * the request path stays free of string building, and the derivation calls
 * the same predicates (policy_match, origin_rule_match, hdr_names_parse),
 * so it cannot tell a different story from the one the server acts on.
 * The unit tests check both agree on every row of the decision table.
 */
#include "explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hint.h"
#include "sbuf.h"
#include "origin.h"

/* ---- the trace ---- */

/* How many skipped policies and allowed header names a step lists. */
#define TRACE_MAX_SKIPPED 4
#define TRACE_NAMES_SHOWN 200

struct tracer {
	struct explain_trace *t;
	struct hint_buf b; /* the step being written */
};

static struct hint_buf *step(struct tracer *tr)
{
	struct explain_trace *t = tr->t;

	/* The last slot is reused: only the first steps matter if a policy
	 * ever produced more than fit, and the caps below make that moot. */
	if (t->n < EXPLAIN_MAX_STEPS)
		t->n++;
	hint_buf_init(&tr->b, t->step[t->n - 1], EXPLAIN_STEP_MAX);
	return &tr->b;
}

/* Request bytes are always escaped; policy strings too (they are trusted,
 * but must not break a line either). */
static void put_req(struct hint_buf *b, struct str s)
{
	hint_put_safe(b, s, EXPLAIN_STEP_MAX);
}

static void put_cfg(struct hint_buf *b, const char *s)
{
	hint_put_safe(b, str_c(s), EXPLAIN_STEP_MAX);
}

/* Host without its port, as policy_match compares it. */
static struct str host_name(struct str h)
{
	const char *colon;

	if (h.n > 0 && h.p[0] == '[') {
		const char *end = memchr(h.p, ']', h.n);

		if (end)
			h.n = (size_t)(end - h.p) + 1;
		return h;
	}
	colon = memchr(h.p, ':', h.n);
	if (colon && !memchr(colon + 1, ':', h.n - (size_t)(colon + 1 - h.p)))
		h.n = (size_t)(colon - h.p);
	return h;
}

static struct str path_only(struct str path)
{
	const char *q = path.p ? memchr(path.p, '?', path.n) : NULL;

	if (q)
		path.n = (size_t)(q - path.p);
	return path;
}

static void trace_policy(struct tracer *tr, const struct policy *p, const struct cors_facts *f,
                         const struct policy_rule *r)
{
	struct str path = path_only(f->path), host = f->host.p ? host_name(f->host) : STR_NULL;
	size_t matching = 0, skipped = 0;
	struct hint_buf *b;

	for (size_t i = 0; p && path.p && i < p->nrules; i++) {
		const struct policy_rule *c = &p->rules[i];

		if (!policy_path_matches((struct str){c->path, c->path_len}, path))
			continue;
		if (!c->host || (host.p && str_eq_ci(host, str_c(c->host)))) {
			matching++;
			continue;
		}
		/* A policy that fits the path but wants another Host is the
		 * usual surprise; name it. */
		if (skipped++ >= TRACE_MAX_SKIPPED)
			continue;
		b = step(tr);
		hint_puts(b, "policy ");
		put_cfg(b, c->name);
		hint_printf(b, " (line %d) skipped: it wants host ", c->line);
		put_cfg(b, c->host);
		hint_puts(b, host.p ? ", the request's Host is " : ", the request has no Host");
		if (host.p)
			put_req(b, host);
	}
	b = step(tr);
	if (!r) {
		hint_puts(b, "no policy matched (host ");
		if (host.p)
			put_req(b, host);
		else
			hint_puts(b, "absent");
		hint_puts(b, ", path ");
		put_req(b, path);
		hint_puts(b, "): proxied with no CORS headers");
		return;
	}
	hint_puts(b, "policy ");
	put_cfg(b, r->name);
	hint_printf(b, " (line %d) matched (host ", r->line);
	put_cfg(b, r->host ? r->host : "any");
	hint_puts(b, ", path prefix ");
	put_cfg(b, r->path);
	hint_puts(b, ")");
	if (matching > 1)
		hint_printf(b, ": the longest of %zu matching path prefixes", matching);
}

static void trace_kind(struct tracer *tr, const struct cors_facts *f, const struct cors_decision *d)
{
	struct hint_buf *b = step(tr);

	switch (d->kind) {
	case CORS_KIND_PREFLIGHT:
		hint_puts(b, "kind: preflight (OPTIONS with Origin and "
		             "Access-Control-Request-Method)");
		break;
	case CORS_KIND_ACTUAL:
		if (str_eq(f->method, STR_LIT("OPTIONS")))
			hint_puts(b, "kind: actual (OPTIONS without Access-Control-Request-Method "
			             "is not a preflight)");
		else
			hint_puts(b, "kind: actual (Origin present, not a preflight)");
		break;
	case CORS_KIND_PLAIN:
		hint_puts(b, "kind: plain (no Origin)");
		break;
	}
}

static const struct origin_rule *entry_of(const struct policy_rule *r, const char *text)
{
	for (size_t i = 0; text && i < r->norigins; i++)
		if (r->origins[i].text == text)
			return &r->origins[i];
	return NULL;
}

static void trace_origin(struct tracer *tr, const struct policy_rule *r, const struct cors_facts *f,
                         const struct cors_decision *d)
{
	const struct origin_rule *o = entry_of(r, d->origin_rule);
	struct hint_buf *b = step(tr);

	if (!o && d->reason == CORS_REASON_ORIGIN) {
		hint_puts(b, d->hint); /* it names the origin and the closest entry */
		return;
	}
	hint_puts(b, "origin `");
	hint_put_safe(b, f->origin, HINT_ORIGIN_SHOWN);
	hint_puts(b, "` ");
	if (o && d->reason == CORS_REASON_ORIGIN && o->kind == ORIGIN_RULE_ANY &&
	    d->verdict == CORS_VERDICT_ALLOW) {
		struct origin_norm norm;

		hint_printf(b, "matched entry \"*\" (line %d)", o->line);
		if (f->origin_lines != 1 || origin_normalize(f->origin, &norm) != 0)
			hint_puts(b, ": it is not one valid origin, so it is never reflected");
		return;
	}
	if (o) {
		hint_puts(b, "matched entry \"");
		put_cfg(b, o->text);
		hint_printf(b, "\" (line %d)", o->line);
		return;
	}
	if (d->reason == CORS_REASON_SAME_ORIGIN) {
		struct str proto = f->forwarded_proto.p ? f->forwarded_proto : STR_LIT("http");

		hint_puts(b, "matched no entry, but it is the request's own origin (");
		put_req(b, proto);
		hint_puts(b, "://");
		put_req(b, f->host);
		hint_puts(b, "): same-origin, not CORS, never blocked");
		return;
	}
	if (d->reason == CORS_REASON_ORIGIN_INVALID) {
		if (f->origin_lines > 1)
			hint_printf(b, "is one of %u Origin header lines, where one is expected",
			            f->origin_lines);
		else
			hint_puts(b, "is not one serialized origin (scheme://host[:port])");
		hint_puts(b, ": only \"*\" accepts it, and it is never reflected");
	}
}

/* The names allowed before the one that failed (or all of them). */
static void trace_headers(struct tracer *tr, const struct policy_rule *r,
                          const struct cors_facts *f, const struct cors_decision *d)
{
	struct hdr_names *names = malloc(sizeof(*names));
	struct hint_buf *b;
	size_t shown = 0, allowed = 0;

	if (d->reason == CORS_REASON_TOO_MANY_HEADERS || d->reason == CORS_REASON_HEADER_INVALID) {
		b = step(tr);
		hint_puts(b, d->hint);
		goto out;
	}
	if (!names || hdr_names_parse((struct str){f->acrh_buf, f->acrh_len}, names) != HDR_LIST_OK)
		goto out;
	if (names->n == 0) {
		b = step(tr);
		hint_puts(b, "no Access-Control-Request-Headers: no header to check");
		goto out;
	}
	while (allowed < names->n &&
	       !(d->reason == CORS_REASON_HEADER && names->name[allowed].p == d->detail.p))
		allowed++;
	if (allowed > 0) {
		b = step(tr);
		hint_puts(b, allowed > 1 ? "headers " : "header ");
		for (size_t i = 0; i < allowed; i++) {
			if (shown >= TRACE_NAMES_SHOWN) {
				hint_puts(b, ", ...");
				break;
			}
			hint_puts(b, i ? ", " : "");
			put_req(b, names->name[i]);
			shown += names->name[i].n + 2;
		}
		hint_puts(b,
		          r->any_header ? " allowed (headers: [\"*\"])" : " allowed (in headers)");
	}
	if (d->reason == CORS_REASON_HEADER) {
		b = step(tr);
		hint_puts(b, d->hint);
	}
out:
	free(names);
}

static void trace_preflight(struct tracer *tr, const struct policy_rule *r,
                            const struct cors_facts *f, const struct cors_decision *d)
{
	struct str m = f->acr_method;
	struct hint_buf *b;

	if (d->reason == CORS_REASON_ORIGIN || d->reason == CORS_REASON_ORIGIN_INVALID) {
		if (d->verdict == CORS_VERDICT_DENY) {
			b = step(tr);
			hint_puts(b, "method and headers not checked: the origin decided");
			return;
		}
	}
	b = step(tr);
	if (d->reason == CORS_REASON_METHOD) {
		hint_puts(b, d->hint);
		return;
	}
	hint_puts(b, "method ");
	put_req(b, m);
	if (str_eq(m, STR_LIT("GET")) || str_eq(m, STR_LIT("HEAD")) || str_eq(m, STR_LIT("POST")))
		hint_puts(b, " allowed (CORS-safelisted: GET, HEAD and POST need no listing)");
	else
		hint_puts(b, " allowed (in methods)");
	trace_headers(tr, r, f, d);
	if (f->acr_private_network) {
		b = step(tr);
		if (r->private_network)
			hint_puts(b, "Access-Control-Request-Private-Network: true answered "
			             "(private_network: true)");
		else
			hint_puts(b, "Access-Control-Request-Private-Network asked, but "
			             "private_network is off: not answered");
	}
}

static void trace_outcome(struct tracer *tr, const struct policy_rule *r,
                          const struct cors_decision *d)
{
	struct hint_buf *b = step(tr);
	bool denied = d->verdict == CORS_VERDICT_DENY;

	if (d->report_only) {
		hint_puts(b, "report_only: denied, logged as such, but answered as if allowed");
		if (d->nheaders == 0)
			hint_puts(b, " (an invalid origin is still never reflected)");
		b = step(tr);
	}
	if (d->kind == CORS_KIND_PREFLIGHT) {
		if (r->preflight == POLICY_PREFLIGHT_FORWARD)
			hint_puts(b,
			          "preflight: forward: the upstream answers status and body; its "
			          "Access-Control-* headers are replaced by the ones below");
		else if (d->local_status == 403)
			hint_puts(b, "deny: reject: 403 with a plain-text body and no "
			             "Access-Control-Allow-* headers; the upstream is not called");
		else if (denied && !d->report_only)
			hint_puts(b, "deny: omit: 204 with no Access-Control-Allow-* headers; the "
			             "upstream is not called");
		else
			hint_puts(b,
			          "preflight: answer: 204 with the headers below; the upstream is "
			          "not called");
		return;
	}
	if (d->local_status == 403)
		hint_puts(b, "enforce: 403 with a plain-text body; the upstream is not called");
	else if (denied && !d->report_only)
		hint_puts(b, "proxied to the upstream with no Access-Control-* headers (enforce is "
		             "off: the browser blocks the response)");
	else if (d->nheaders > 0)
		hint_puts(b,
		          "proxied to the upstream; its Access-Control-* headers are replaced by "
		          "the ones below");
	else
		hint_puts(b, "proxied to the upstream; its Access-Control-* headers are removed");
	if (d->nvary > 0 && d->local_status == 0) {
		b = step(tr);
		hint_puts(b, "Vary: Origin merged with the upstream's Vary, so shared caches keep "
		             "origins apart");
	}
}

void explain_trace(const struct policy *p, const struct cors_facts *f,
                   const struct cors_decision *d, struct explain_trace *t)
{
	struct tracer tr = {.t = t};
	const struct policy_rule *r = d->rule;
	struct hint_buf *b;

	t->n = 0;
	trace_policy(&tr, p, f, r);
	trace_kind(&tr, f, d);
	if (!r)
		return;
	if (d->kind == CORS_KIND_PLAIN) {
		b = step(&tr);
		if (r->vary_origin)
			hint_puts(b, "no Origin: not a CORS request; proxied, with Vary: Origin so "
			             "shared caches keep origins apart");
		else
			hint_puts(b, "no Origin, and a credential-less \"*\" policy: proxied with "
			             "Access-Control-Allow-Origin: * on every response");
		return;
	}
	trace_origin(&tr, r, f, d);
	if (d->kind == CORS_KIND_PREFLIGHT)
		trace_preflight(&tr, r, f, d);
	if (d->verdict == CORS_VERDICT_ALLOW && r->credentials) {
		b = step(&tr);
		hint_puts(b, "credentials: true: Access-Control-Allow-Credentials: true, and the "
		             "origin is echoed, never *");
	}
	trace_outcome(&tr, r, d);
}

/* Escaped to printable ASCII, for the text report's request values. */
static void eb_safe(struct sbuf *e, struct str s)
{
	char tmp[EXPLAIN_STEP_MAX];
	struct hint_buf b;

	for (size_t off = 0; off < s.n; off += 64) {
		size_t n = s.n - off < 64 ? s.n - off : 64;

		hint_buf_init(&b, tmp, sizeof(tmp));
		hint_put_safe(&b, (struct str){s.p + off, n}, n);
		sbuf_put(e, tmp, b.len);
	}
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and beyond U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void eb_json_str(struct sbuf *e, struct str s)
{
	const unsigned char *p = (const unsigned char *)s.p;

	if (!s.p) {
		sbuf_puts(e, "null");
		return;
	}
	sbuf_puts(e, "\"");
	for (size_t i = 0; i < s.n;) {
		unsigned char c = p[i];
		size_t run = i;

		while (run < s.n && p[run] >= 0x20 && p[run] < 0x7f && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run > i) {
			sbuf_put(e, s.p + i, run - i);
			i = run;
			continue;
		}
		if (c == '"' || c == '\\') {
			sbuf_put(e, c == '"' ? "\\\"" : "\\\\", 2);
			i++;
		} else if (c == '\n') {
			sbuf_puts(e, "\\n");
			i++;
		} else if (c == '\r') {
			sbuf_puts(e, "\\r");
			i++;
		} else if (c == '\t') {
			sbuf_puts(e, "\\t");
			i++;
		} else if (c < 0x80) {
			sbuf_printf(e, "\\u%04x", c);
			i++;
		} else {
			size_t n = utf8_len(p + i, s.n - i);

			if (n == 0) {
				sbuf_puts(e, "\\ufffd");
				i++;
			} else {
				sbuf_put(e, s.p + i, n);
				i += n;
			}
		}
	}
	sbuf_puts(e, "\"");
}

/* ---- text ---- */

char *explain_text(const struct policy *p, const struct cors_facts *f,
                   const struct cors_decision *d, size_t *len)
{
	struct explain_trace *t = malloc(sizeof(*t));
	struct sbuf e = {0};

	if (!t)
		return NULL;
	explain_trace(p, f, d, t);
	sbuf_puts(&e, "policy: ");
	if (d->rule)
		eb_safe(&e, str_c(d->rule->name));
	else
		sbuf_puts(&e, "-");
	sbuf_printf(&e, "\nkind: %s\n", cors_kind_name(d->kind));
	sbuf_printf(&e, "verdict: %s%s\n", cors_verdict_name(d->verdict),
	            d->report_only ? " (report_only: answered as allowed)" : "");
	sbuf_printf(&e, "reason: %s", cors_reason_name(d->reason));
	if (d->detail.p) {
		sbuf_puts(&e, " (");
		eb_safe(&e, d->detail);
		sbuf_puts(&e, ")");
	}
	if (d->origin_rule) {
		sbuf_puts(&e, " (matched \"");
		eb_safe(&e, str_c(d->origin_rule));
		sbuf_puts(&e, "\")");
	}
	sbuf_puts(&e, "\n");
	if (d->hint[0]) {
		sbuf_puts(&e, "hint: ");
		sbuf_puts(&e, d->hint);
		sbuf_puts(&e, "\n");
	}
	if (d->local_status)
		sbuf_printf(&e, "status: %d\n", d->local_status);
	else
		sbuf_puts(&e, "status: upstream\n");
	sbuf_puts(&e, "\n");

	/* Header values are the request's own bytes only where they were
	 * checked (a valid origin, token names), so they print as sent. */
	for (size_t i = 0; i < d->nheaders; i++) {
		sbuf_printf(&e, "%s: ", d->headers[i].name);
		eb_safe(&e, d->headers[i].value);
		sbuf_puts(&e, "\n");
	}
	if (d->nvary) {
		sbuf_puts(&e, "Vary: ");
		for (size_t i = 0; i < d->nvary; i++)
			sbuf_printf(&e, "%s%s", i ? ", " : "", d->vary[i]);
		sbuf_puts(&e, "\n");
	}
	if (d->nheaders == 0 && d->nvary == 0)
		sbuf_puts(&e, "(no CORS headers)\n");
	if (d->local_status && d->body[0]) {
		sbuf_puts(&e, "\n");
		sbuf_puts(&e, d->body);
	}
	sbuf_puts(&e, "\ntrace:\n");
	for (size_t i = 0; i < t->n; i++) {
		sbuf_printf(&e, "  %zu. ", i + 1);
		sbuf_puts(&e, t->step[i]);
		sbuf_puts(&e, "\n");
	}
	free(t);
	return sbuf_finish(&e, len);
}

/* ---- JSON ---- */

static void json_key(struct sbuf *e, const char *key, bool first)
{
	sbuf_puts(e, first ? "{\n  \"" : ",\n  \"");
	sbuf_puts(e, key);
	sbuf_puts(e, "\": ");
}

static void json_request(struct sbuf *e, const struct cors_facts *f)
{
	struct str acrh = f->acrh_present ? (struct str){f->acrh_buf, f->acrh_len} : STR_NULL;

	sbuf_puts(e, "{\n    \"method\": ");
	eb_json_str(e, f->method);
	sbuf_puts(e, ",\n    \"path\": ");
	eb_json_str(e, f->path);
	sbuf_puts(e, ",\n    \"host\": ");
	eb_json_str(e, f->host);
	sbuf_puts(e, ",\n    \"origin\": ");
	eb_json_str(e, f->origin);
	sbuf_puts(e, ",\n    \"access_control_request_method\": ");
	eb_json_str(e, f->acr_method);
	sbuf_puts(e, ",\n    \"access_control_request_headers\": ");
	eb_json_str(e, acrh);
	sbuf_puts(e, ",\n    \"access_control_request_private_network\": ");
	sbuf_puts(e, f->acr_private_network ? "true\n  }" : "false\n  }");
}

char *explain_json(const struct policy *p, const struct cors_facts *f,
                   const struct cors_decision *d, size_t *len)
{
	struct explain_trace *t = malloc(sizeof(*t));
	struct sbuf e = {0};

	if (!t)
		return NULL;
	explain_trace(p, f, d, t);
	json_key(&e, "policy", true);
	eb_json_str(&e, d->rule ? str_c(d->rule->name) : STR_NULL);
	json_key(&e, "kind", false);
	eb_json_str(&e, str_c(cors_kind_name(d->kind)));
	json_key(&e, "verdict", false);
	eb_json_str(&e, str_c(cors_verdict_name(d->verdict)));
	json_key(&e, "reason", false);
	eb_json_str(&e, str_c(cors_reason_name(d->reason)));
	json_key(&e, "detail", false);
	eb_json_str(&e, d->detail);
	json_key(&e, "origin_rule", false);
	eb_json_str(&e, str_c(d->origin_rule));
	json_key(&e, "report_only", false);
	sbuf_puts(&e, d->report_only ? "true" : "false");
	json_key(&e, "hint", false);
	eb_json_str(&e, d->hint[0] ? str_c(d->hint) : STR_NULL);
	json_key(&e, "status", false);
	if (d->local_status)
		sbuf_printf(&e, "%d", d->local_status);
	else
		sbuf_puts(&e, "null");
	json_key(&e, "body", false);
	eb_json_str(&e, d->local_status && d->body[0] ? str_c(d->body) : STR_NULL);

	json_key(&e, "trace", false);
	sbuf_puts(&e, "[");
	for (size_t i = 0; i < t->n; i++) {
		sbuf_puts(&e, i ? ",\n    " : "\n    ");
		eb_json_str(&e, str_c(t->step[i]));
	}
	sbuf_puts(&e, t->n ? "\n  ]" : "]");

	json_key(&e, "headers", false);
	sbuf_puts(&e, "[");
	for (size_t i = 0; i < d->nheaders; i++) {
		sbuf_puts(&e, i ? ",\n    {\"name\": " : "\n    {\"name\": ");
		eb_json_str(&e, str_c(d->headers[i].name));
		sbuf_puts(&e, ", \"value\": ");
		eb_json_str(&e, d->headers[i].value);
		sbuf_puts(&e, "}");
	}
	sbuf_puts(&e, d->nheaders ? "\n  ]" : "]");

	json_key(&e, "vary", false);
	sbuf_puts(&e, "[");
	for (size_t i = 0; i < d->nvary; i++) {
		sbuf_puts(&e, i ? ", " : "");
		eb_json_str(&e, str_c(d->vary[i]));
	}
	sbuf_puts(&e, "]");

	json_key(&e, "request", false);
	json_request(&e, f);
	sbuf_puts(&e, "\n}\n");
	free(t);
	return sbuf_finish(&e, len);
}

/* ---- facts from query parameters ---- */

static struct str param(const char *s)
{
	return s && *s ? str_c(s) : STR_NULL;
}

/* What a browser's script can set without a preflight is beside the
 * point here: a header named in the question is a header to check. */
static bool has_names(struct str list)
{
	for (size_t i = 0; i < list.n; i++)
		if (list.p[i] != ',' && list.p[i] != ' ' && list.p[i] != '\t')
			return true;
	return false;
}

int explain_facts_from_params(struct cors_facts *f, const char *method, const char *path,
                              const char *host, const char *origin, const char *headers,
                              bool private_network, const char **why)
{
	struct str m = param(method), pa = param(path), h = param(host), o = param(origin);
	struct str hs = param(headers);
	bool preflight;

	if (!m.p)
		m = STR_LIT("GET");
	if (!pa.p)
		pa = STR_LIT("/");
	if (!str_is_token(m)) {
		*why = "method is not a token";
		return -1;
	}
	if (pa.p[0] != '/') {
		*why = "path must start with '/'";
		return -1;
	}
	pa = path_only(pa);
	/* A value the server would refuse with 400 has no decision to show. */
	if (str_has_ctl(pa) || str_has_ctl(h) || str_has_ctl(o) || str_has_ctl(hs)) {
		*why = "a value holds CR, LF or NUL";
		return -1;
	}
	preflight = o.p && (!(str_eq(m, STR_LIT("GET")) || str_eq(m, STR_LIT("HEAD")) ||
	                      str_eq(m, STR_LIT("POST"))) ||
	                    (hs.p && has_names(hs)) || private_network);
	cors_facts_init(f, preflight ? STR_LIT("OPTIONS") : m, pa);
	if (h.p)
		cors_facts_add_header(f, STR_LIT("Host"), h);
	if (o.p)
		cors_facts_add_header(f, STR_LIT("Origin"), o);
	if (preflight) {
		cors_facts_add_header(f, STR_LIT("Access-Control-Request-Method"), m);
		if (hs.p && has_names(hs))
			cors_facts_add_header(f, STR_LIT("Access-Control-Request-Headers"), hs);
		if (private_network)
			cors_facts_add_header(f, STR_LIT("Access-Control-Request-Private-Network"),
			                      STR_LIT("true"));
	}
	*why = NULL;
	return 0;
}
