/*
 * The CORS decision (SPEC "Behaviour on the wire", rules 1-4). Everything
 * here is a pure function of the policy and the request facts, so the
 * server, `corsd --explain` and the unit tests run the very same code.
 */
#include "cors.h"

#include <stdio.h>
#include <string.h>

#include "origin.h"

void cors_facts_init(struct cors_facts *f, struct str method, struct str path)
{
	f->method = method;
	f->path = path;
	f->host = STR_NULL;
	f->origin = STR_NULL;
	f->origin_lines = 0;
	f->acr_method = STR_NULL;
	f->acr_private_network = false;
	f->forwarded_proto = STR_NULL;
	f->acrh_present = false;
	f->acrh_overflow = false;
	f->acrh_len = 0;
	f->acrh_buf[0] = '\0';
}

/* Several Access-Control-Request-Headers lines mean one comma list
 * (RFC 9110 5.3), so they are joined here once for the parser. */
static void facts_add_acrh(struct cors_facts *f, struct str value)
{
	size_t need = value.n + (f->acrh_present ? 1 : 0);

	if (f->acrh_overflow || need > sizeof(f->acrh_buf) - 1 - f->acrh_len) {
		f->acrh_overflow = true;
		f->acrh_present = true;
		return;
	}
	if (f->acrh_present)
		f->acrh_buf[f->acrh_len++] = ',';
	memcpy(f->acrh_buf + f->acrh_len, value.p, value.n);
	f->acrh_len += value.n;
	f->acrh_buf[f->acrh_len] = '\0';
	f->acrh_present = true;
}

void cors_facts_add_header(struct cors_facts *f, struct str name, struct str value)
{
	if (str_eq_ci(name, STR_LIT("Origin"))) {
		/* Only the first line is kept; the count makes several lines
		 * an invalid origin rather than a choice between them. */
		if (f->origin_lines++ == 0)
			f->origin = value;
	} else if (str_eq_ci(name, STR_LIT("Access-Control-Request-Method"))) {
		if (f->acr_method.p == NULL)
			f->acr_method = value;
	} else if (str_eq_ci(name, STR_LIT("Access-Control-Request-Headers"))) {
		facts_add_acrh(f, value);
	} else if (str_eq_ci(name, STR_LIT("Access-Control-Request-Private-Network"))) {
		f->acr_private_network = str_eq_ci(str_trim_ows(value), STR_LIT("true"));
	} else if (str_eq_ci(name, STR_LIT("Host"))) {
		if (f->host.p == NULL)
			f->host = value;
	} else if (str_eq_ci(name, STR_LIT("X-Forwarded-Proto"))) {
		if (f->forwarded_proto.p == NULL)
			f->forwarded_proto = str_trim_ows(value);
	}
}

const char *cors_kind_name(enum cors_kind k)
{
	switch (k) {
	case CORS_KIND_PREFLIGHT:
		return "preflight";
	case CORS_KIND_ACTUAL:
		return "actual";
	case CORS_KIND_PLAIN:
		break;
	}
	return "plain";
}

const char *cors_verdict_name(enum cors_verdict v)
{
	switch (v) {
	case CORS_VERDICT_ALLOW:
		return "allowed";
	case CORS_VERDICT_DENY:
		return "denied";
	case CORS_VERDICT_NONE:
		break;
	}
	return "none";
}

const char *cors_reason_name(enum cors_reason r)
{
	switch (r) {
	case CORS_REASON_NO_POLICY:
		return "no_policy";
	case CORS_REASON_NO_ORIGIN:
		return "no_origin";
	case CORS_REASON_ORIGIN:
		return "origin";
	case CORS_REASON_ORIGIN_INVALID:
		return "origin_invalid";
	case CORS_REASON_SAME_ORIGIN:
		return "same_origin";
	case CORS_REASON_METHOD:
		return "method";
	case CORS_REASON_HEADER:
		return "header";
	case CORS_REASON_HEADER_INVALID:
		return "header_invalid";
	case CORS_REASON_TOO_MANY_HEADERS:
		return "too_many_headers";
	case CORS_REASON_BAD_REQUEST:
		return "bad_request";
	}
	return "unknown";
}

static void add_header(struct cors_decision *d, const char *name, struct str value)
{
	if (d->nheaders < CORS_MAX_OUT_HEADERS)
		d->headers[d->nheaders++] = (struct cors_header){name, value};
}

static void add_vary(struct cors_decision *d, const char *token)
{
	if (d->nvary < CORS_MAX_VARY)
		d->vary[d->nvary++] = token;
}

/* Fetch: GET, HEAD and POST never need to be listed. Case-sensitive. */
static bool method_allowed(const struct policy_rule *r, struct str m)
{
	if (str_eq(m, STR_LIT("GET")) || str_eq(m, STR_LIT("HEAD")) || str_eq(m, STR_LIT("POST")))
		return true;
	for (size_t i = 0; i < r->nmethods; i++)
		if (str_eq(m, str_c(r->methods[i])))
			return true;
	return false;
}

/* The policy's methods plus the requested one when it is a token missing
 * from them (report_only answers as if allowed). */
static struct str report_only_methods(struct cors_decision *d, const struct policy_rule *r,
                                      struct str m, struct str methods)
{
	if (method_allowed(r, m) || !str_is_token(m) || methods.n + m.n + 3 > sizeof(d->acam_buf))
		return methods;
	memcpy(d->acam_buf, methods.p, methods.n);
	memcpy(d->acam_buf + methods.n, ", ", 2);
	memcpy(d->acam_buf + methods.n + 2, m.p, m.n);
	d->acam_buf[methods.n + 2 + m.n] = '\0';
	return (struct str){d->acam_buf, methods.n + 2 + m.n};
}

static bool header_allowed(const struct policy_rule *r, struct str name)
{
	if (r->any_header)
		return true;
	for (size_t i = 0; i < r->nheaders; i++)
		if (str_eq_ci(name, str_c(r->headers[i])))
			return true;
	return false;
}

/* Which origin entry accepts this request, or NULL. An Origin that is not
 * one valid serialized origin is accepted only by "*". */
static const char *match_origin(const struct policy_rule *r, const struct cors_facts *f,
                                struct origin_norm *norm, bool *valid)
{
	*valid = f->origin_lines == 1 && origin_normalize(f->origin, norm) == 0;
	for (size_t i = 0; i < r->norigins; i++) {
		const struct origin_rule *o = &r->origins[i];
		if (o->kind == ORIGIN_RULE_ANY)
			return o->text;
		if (*valid && origin_rule_match(o, norm))
			return o->text;
	}
	return NULL;
}

/* SPEC rule 2: an Origin equal to the request's own origin is not CORS. */
static bool same_origin(const struct cors_facts *f)
{
	struct str proto = f->forwarded_proto.p ? f->forwarded_proto : STR_LIT("http");
	struct str o = f->origin;

	if (f->host.p == NULL || o.n != proto.n + 3 + f->host.n)
		return false;
	return str_eq_ci((struct str){o.p, proto.n}, proto) &&
	       memcmp(o.p + proto.n, "://", 3) == 0 &&
	       str_eq_ci((struct str){o.p + proto.n + 3, f->host.n}, f->host);
}

/* Access-Control-Allow-Origin: "*" only for a credential-less "*" policy;
 * otherwise the request's own bytes, which are then known to be a valid
 * origin (never a value with CR, LF or NUL). */
static void add_allow_origin(struct cors_decision *d, const struct policy_rule *r,
                             const struct cors_facts *f)
{
	if (r->any_origin && !r->credentials)
		add_header(d, "Access-Control-Allow-Origin", STR_LIT("*"));
	else
		add_header(d, "Access-Control-Allow-Origin", f->origin);
	if (r->credentials)
		add_header(d, "Access-Control-Allow-Credentials", STR_LIT("true"));
}

/* Joins the requested names for Access-Control-Allow-Headers. Echoing the
 * names (never "*") keeps Authorization explicit, as Fetch requires. */
static struct str join_names(struct cors_decision *d, const struct hdr_names *names)
{
	size_t len = 0;

	for (size_t i = 0; i < names->n; i++) {
		const struct str *nm = &names->name[i];
		if (len + nm->n + 2 >= sizeof(d->acah_buf))
			break; /* cannot happen within the parser's bounds */
		if (i > 0) {
			d->acah_buf[len++] = ',';
			d->acah_buf[len++] = ' ';
		}
		memcpy(d->acah_buf + len, nm->p, nm->n);
		len += nm->n;
	}
	d->acah_buf[len] = '\0';
	return (struct str){d->acah_buf, len};
}

/* The denial's hint: computed for every denial (the access log names it
 * under deny: omit and report_only too), never for an allowed request. */
static void make_hint(struct cors_decision *d, const struct policy_rule *r,
                      const struct cors_facts *f, const struct origin_norm *norm)
{
	switch (d->reason) {
	case CORS_REASON_ORIGIN:
	case CORS_REASON_ORIGIN_INVALID:
		hint_origin(r, f->origin, f->origin_lines, norm, d->hint, sizeof(d->hint));
		break;
	case CORS_REASON_METHOD:
		hint_method(r, f->acr_method, d->hint, sizeof(d->hint));
		break;
	case CORS_REASON_HEADER:
		hint_header(r, d->detail, d->hint, sizeof(d->hint));
		break;
	case CORS_REASON_TOO_MANY_HEADERS:
		snprintf(d->hint, sizeof(d->hint),
		         "too many headers: Access-Control-Request-Headers names more than %d "
		         "headers or %d bytes of names",
		         HDR_ACRH_MAX_NAMES, HDR_ACRH_MAX_BYTES);
		break;
	case CORS_REASON_HEADER_INVALID:
		snprintf(d->hint, sizeof(d->hint),
		         "invalid header name: Access-Control-Request-Headers holds a name that is "
		         "not a token");
		break;
	default:
		d->hint[0] = '\0';
		break;
	}
}

/* One line of plain text: the hint never holds a raw request byte that
 * could end or forge it (hint.h), and the policy name is escaped too. */
static void deny_body(struct cors_decision *d)
{
	struct hint_buf b;

	hint_buf_init(&b, d->body_buf, sizeof(d->body_buf) - 1);
	hint_puts(&b, d->kind == CORS_KIND_PREFLIGHT ? "CORS preflight" : "CORS request");
	hint_puts(&b, " denied by policy ");
	hint_put_safe(&b, str_c(d->rule->name), HINT_TOKEN_SHOWN);
	hint_puts(&b, ": ");
	hint_puts(&b, d->hint);
	/* The newline is kept even when the text was cut. */
	d->body_buf[b.len] = '\n';
	d->body_buf[b.len + 1] = '\0';
	d->body = d->body_buf;
}

/* Rule 1. Sets verdict, reason and detail; the caller has checked the
 * origin already. */
static void judge_preflight(struct cors_decision *d, const struct policy_rule *r,
                            const struct cors_facts *f, struct hdr_names *names)
{
	names->n = 0;
	if (!method_allowed(r, f->acr_method)) {
		d->verdict = CORS_VERDICT_DENY;
		d->reason = CORS_REASON_METHOD;
		/* Only a token is ever echoed back, in the body or the log. */
		d->detail = str_is_token(f->acr_method) ? f->acr_method : STR_LIT("(invalid)");
		return;
	}
	if (f->acrh_overflow) {
		d->verdict = CORS_VERDICT_DENY;
		d->reason = CORS_REASON_TOO_MANY_HEADERS;
		return;
	}
	switch (hdr_names_parse((struct str){f->acrh_buf, f->acrh_len}, names)) {
	case HDR_LIST_OK:
		break;
	case HDR_LIST_TOO_MANY:
		names->n = 0;
		d->verdict = CORS_VERDICT_DENY;
		d->reason = CORS_REASON_TOO_MANY_HEADERS;
		return;
	case HDR_LIST_INVALID:
		names->n = 0;
		d->verdict = CORS_VERDICT_DENY;
		d->reason = CORS_REASON_HEADER_INVALID;
		return;
	}
	for (size_t i = 0; i < names->n; i++) {
		if (!header_allowed(r, names->name[i])) {
			d->verdict = CORS_VERDICT_DENY;
			d->reason = CORS_REASON_HEADER;
			d->detail = names->name[i];
			return;
		}
	}
}

static void decide_preflight(struct cors_decision *d, const struct policy_rule *r,
                             const struct cors_facts *f, const struct origin_norm *norm)
{
	struct hdr_names names;
	bool answer_as_allowed;

	add_vary(d, "Origin");
	add_vary(d, "Access-Control-Request-Method");
	add_vary(d, "Access-Control-Request-Headers");
	if (r->private_network)
		add_vary(d, "Access-Control-Request-Private-Network");

	names.n = 0;
	if (d->verdict == CORS_VERDICT_ALLOW)
		judge_preflight(d, r, f, &names);
	if (d->verdict == CORS_VERDICT_DENY) {
		make_hint(d, r, f, norm);
		d->report_only = r->report_only;
	}

	/* A report-only denial of an invalid origin still cannot echo it. */
	answer_as_allowed = d->verdict == CORS_VERDICT_ALLOW ||
	                    (d->report_only && (norm || (r->any_origin && !r->credentials)));
	/* Nothing can be echoed for an invalid origin: the denial stands, and
	 * the log must not claim it was answered as allowed. */
	if (!answer_as_allowed)
		d->report_only = false;
	if (answer_as_allowed) {
		struct str methods = str_c(r->allow_methods_value);
		if (d->report_only) {
			/* "As if allowed" means the browser goes on: it also
			 * needs the method and the headers it asked for, which
			 * a denial may never have reached. */
			methods = report_only_methods(d, r, f->acr_method, methods);
			if (names.n == 0 && !f->acrh_overflow &&
			    hdr_names_parse((struct str){f->acrh_buf, f->acrh_len}, &names) !=
			        HDR_LIST_OK)
				names.n = 0;
		}
		add_allow_origin(d, r, f);
		add_header(d, "Access-Control-Allow-Methods", methods);
		if (names.n > 0)
			add_header(d, "Access-Control-Allow-Headers", join_names(d, &names));
		if (r->max_age_value)
			add_header(d, "Access-Control-Max-Age", str_c(r->max_age_value));
		if (f->acr_private_network && r->private_network)
			add_header(d, "Access-Control-Allow-Private-Network", STR_LIT("true"));
	}
	if (r->preflight == POLICY_PREFLIGHT_FORWARD)
		return; /* the upstream answers status and body */
	if (answer_as_allowed || r->deny == POLICY_DENY_OMIT) {
		d->local_status = 204;
		return;
	}
	d->local_status = 403;
	deny_body(d);
}

static void decide_actual(struct cors_decision *d, const struct policy_rule *r,
                          const struct cors_facts *f, const struct origin_norm *norm)
{
	if (r->vary_origin)
		add_vary(d, "Origin");
	if (d->verdict == CORS_VERDICT_DENY && same_origin(f)) {
		d->verdict = CORS_VERDICT_NONE;
		d->reason = CORS_REASON_SAME_ORIGIN;
		return;
	}
	if (d->verdict == CORS_VERDICT_DENY) {
		make_hint(d, r, f, norm);
		d->report_only = r->report_only;
	}
	if (d->verdict == CORS_VERDICT_ALLOW || (d->report_only && norm)) {
		add_allow_origin(d, r, f);
		if (r->expose_value)
			add_header(d, "Access-Control-Expose-Headers", str_c(r->expose_value));
		return;
	}
	if (d->verdict == CORS_VERDICT_DENY && r->enforce && !d->report_only) {
		d->local_status = 403;
		deny_body(d);
	}
}

void cors_decision_reset(struct cors_decision *d)
{
	d->rule = NULL;
	d->kind = CORS_KIND_PLAIN;
	d->verdict = CORS_VERDICT_NONE;
	d->reason = CORS_REASON_NO_POLICY;
	d->report_only = false;
	d->origin_rule = NULL;
	d->detail = STR_NULL;
	d->hint[0] = '\0';
	d->local_status = 0;
	d->body = "";
	d->nheaders = 0;
	d->nvary = 0;
	d->acah_buf[0] = '\0';
	d->body_buf[0] = '\0';
}

void cors_decide(const struct policy *p, const struct cors_facts *f, struct cors_decision *d)
{
	const struct policy_rule *r;
	struct origin_norm norm;
	bool origin_valid = false;

	cors_decision_reset(d);

	if (f->origin.p == NULL)
		d->kind = CORS_KIND_PLAIN;
	else if (str_eq(f->method, STR_LIT("OPTIONS")) && f->acr_method.p != NULL)
		d->kind = CORS_KIND_PREFLIGHT;
	else
		d->kind = CORS_KIND_ACTUAL;

	r = d->rule = policy_match(p, f->host, f->path);
	if (r == NULL)
		return; /* rule 4 only: plain proxying */

	if (d->kind == CORS_KIND_PLAIN) {
		d->reason = CORS_REASON_NO_ORIGIN;
		/* Rule 3: a credential-less "*" answers the same to everyone,
		 * so it needs no Vary; everyone else must vary on Origin even
		 * when it is absent. */
		if (r->vary_origin) {
			add_vary(d, "Origin");
		} else {
			add_header(d, "Access-Control-Allow-Origin", STR_LIT("*"));
			if (r->expose_value)
				add_header(d, "Access-Control-Expose-Headers",
				           str_c(r->expose_value));
		}
		return;
	}

	d->origin_rule = match_origin(r, f, &norm, &origin_valid);
	d->verdict = d->origin_rule ? CORS_VERDICT_ALLOW : CORS_VERDICT_DENY;
	d->reason =
	    d->origin_rule || origin_valid ? CORS_REASON_ORIGIN : CORS_REASON_ORIGIN_INVALID;
	if (d->kind == CORS_KIND_PREFLIGHT)
		decide_preflight(d, r, f, origin_valid ? &norm : NULL);
	else
		decide_actual(d, r, f, origin_valid ? &norm : NULL);
}
