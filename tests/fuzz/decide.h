/*
 * The CORS decision's invariants from SPEC "Behaviour on the wire", checked
 * on whatever facts a target built, and the checks on the --explain text
 * and the admin's JSON told from it. Shared by fuzz_head and fuzz_cors.
 */
#ifndef CORSD_FUZZ_DECIDE_H
#define CORSD_FUZZ_DECIDE_H

#include <stdlib.h>

#include "config.h"
#include "cors.h"
#include "explain.h"
#include "origin.h"
#include "fuzz.h"

/* Every kind of rule and entry, so each branch of the decision is reachable
 * by fuzzing the request alone. */
static const char fuzz_policy_yaml[] =
    "listen: \"127.0.0.1:0\"\n"
    "upstream: \"http://127.0.0.1:9\"\n"
    "policies:\n"
    "  - name: app-api\n"
    "    host: api.example.com\n"
    "    path: /api/\n"
    "    origins: [\"https://app.example.com\", \"http://localhost:3000\",\n"
    "              \"https://*.example.org\", \"https://*.example.net:*\",\n"
    "              \"~^https://(a|b)\\\\.example\\\\.io$\", \"null\"]\n"
    "    methods: [GET, HEAD, POST, PUT, patch]\n"
    "    headers: [Content-Type, X-Request-ID, Authorization]\n"
    "    expose_headers: [X-Request-ID]\n"
    "    credentials: true\n"
    "    max_age: 600\n"
    "    private_network: true\n"
    "  - name: public\n"
    "    path: /public\n"
    "    origins: [\"*\"]\n"
    "    headers: [\"*\"]\n"
    "    expose_headers: [\"*\"]\n"
    "  - name: strict\n"
    "    path: /strict\n"
    "    origins: [\"https://app.example.com\"]\n"
    "    enforce: true\n"
    "  - name: trial\n"
    "    path: /trial\n"
    "    origins: [\"https://app.example.com\", \"https://*.example.org\"]\n"
    "    report_only: true\n"
    "    enforce: true\n"
    "  - name: trial-star\n"
    "    path: /trial-star\n"
    "    origins: [\"*\"]\n"
    "    methods: [GET]\n"
    "    report_only: true\n"
    "  - name: quiet\n"
    "    path: /quiet\n"
    "    origins: [\"https://app.example.com\"]\n"
    "    deny: omit\n"
    "  - name: forward\n"
    "    host: fwd.example.com\n"
    "    origins: [\"https://app.example.com\"]\n"
    "    preflight: forward\n"
    "    credentials: true\n";

/* Loaded once: the policy is immutable and only read by the decision. */
static const struct policy *fuzz_policy(void)
{
	static struct policy *p;

	if (p == NULL) {
		struct diag_list d;

		diag_init(&d, "fuzz-policy.yaml");
		p = config_load_buffer("fuzz-policy.yaml", fuzz_policy_yaml,
		                       sizeof(fuzz_policy_yaml) - 1, &d);
		diag_print(&d, stderr);
		diag_free(&d);
		FUZZ_CHECK(p != NULL);
	}
	return p;
}

static const struct cors_header *fuzz_find_header(const struct cors_decision *d, const char *name)
{
	for (size_t i = 0; i < d->nheaders; i++)
		if (strcmp(d->headers[i].name, name) == 0)
			return &d->headers[i];
	return NULL;
}

static bool fuzz_has_vary(const struct cors_decision *d, const char *token)
{
	for (size_t i = 0; i < d->nvary; i++)
		if (strcmp(d->vary[i], token) == 0)
			return true;
	return false;
}

static void fuzz_check_decision(const struct cors_facts *f, const struct cors_decision *d)
{
	const struct cors_header *acao = fuzz_find_header(d, "Access-Control-Allow-Origin");
	const struct cors_header *acac = fuzz_find_header(d, "Access-Control-Allow-Credentials");
	const struct cors_header *acah = fuzz_find_header(d, "Access-Control-Allow-Headers");

	FUZZ_CHECK(d->nheaders <= CORS_MAX_OUT_HEADERS && d->nvary <= CORS_MAX_VARY);
	for (size_t i = 0; i < d->nheaders; i++) {
		FUZZ_CHECK(strncmp(d->headers[i].name, "Access-Control-", 15) == 0);
		FUZZ_CHECK(d->headers[i].value.p != NULL);
		/* SPEC rule 7: a value with CR, LF or NUL is never reflected. */
		FUZZ_CHECK(fuzz_no_crlfnul(d->headers[i].value.p, d->headers[i].value.n));
	}
	FUZZ_CHECK(fuzz_printable(d->hint, strlen(d->hint), ""));

	if (d->rule == NULL) {
		/* Rule 4: no policy, no CORS at all. */
		FUZZ_CHECK(d->nheaders == 0 && d->nvary == 0 && d->local_status == 0);
		FUZZ_CHECK(d->verdict == CORS_VERDICT_NONE);
		return;
	}
	FUZZ_CHECK((d->kind == CORS_KIND_PLAIN) == (f->origin.p == NULL));
	if (d->kind == CORS_KIND_PLAIN)
		FUZZ_CHECK(d->verdict == CORS_VERDICT_NONE && d->local_status == 0);
	if (d->verdict == CORS_VERDICT_NONE && d->kind != CORS_KIND_PLAIN)
		FUZZ_CHECK(d->reason == CORS_REASON_SAME_ORIGIN);
	/* Rule 3: Vary: Origin unless the answer is the same for everyone. */
	if (d->rule->vary_origin || d->kind == CORS_KIND_PREFLIGHT)
		FUZZ_CHECK(fuzz_has_vary(d, "Origin"));

	if (acao && !(acao->value.n == 1 && acao->value.p[0] == '*')) {
		struct origin_norm o;

		/* Echoed only when it is one valid origin, byte for byte. */
		FUZZ_CHECK(f->origin_lines == 1);
		FUZZ_CHECK(acao->value.p == f->origin.p && acao->value.n == f->origin.n);
		FUZZ_CHECK(origin_normalize(acao->value, &o) == 0);
	}
	if (acac)
		FUZZ_CHECK(acao && !(acao->value.n == 1 && acao->value.p[0] == '*'));
	if (acah) {
		/* The requested names, each one as asked for (so Authorization
		 * is named, never left to a "*" the request did not send). */
		const char *p = acah->value.p, *end = p + acah->value.n;

		FUZZ_CHECK(d->kind == CORS_KIND_PREFLIGHT && acah->value.n > 0);
		while (p < end) {
			const char *sep = memchr(p, ',', (size_t)(end - p));
			struct str name = {p, sep ? (size_t)(sep - p) : (size_t)(end - p)};

			FUZZ_CHECK(str_is_token(name));
			FUZZ_CHECK(hdr_list_has((struct str){f->acrh_buf, f->acrh_len}, name));
			p = sep ? sep + 2 : end;
		}
	}
	if (d->verdict == CORS_VERDICT_DENY && !d->report_only)
		FUZZ_CHECK(d->nheaders == 0);
	if (d->verdict == CORS_VERDICT_DENY)
		FUZZ_CHECK(d->hint[0] != '\0');

	FUZZ_CHECK(d->local_status == 0 || d->local_status == 204 || d->local_status == 403);
	if (d->local_status == 403) {
		size_t n = strlen(d->body);

		FUZZ_CHECK(d->verdict == CORS_VERDICT_DENY && d->nheaders == 0);
		/* One line of plain text naming the rule. */
		FUZZ_CHECK(n > 0 && d->body[n - 1] == '\n' && fuzz_printable(d->body, n - 1, ""));
	}
	if (d->local_status != 0)
		FUZZ_CHECK(d->kind != CORS_KIND_PLAIN);
}

static void fuzz_check_explain(const struct policy *p, const struct cors_facts *f,
                               const struct cors_decision *d)
{
	static struct explain_trace t;
	size_t len;
	char *text, *json;

	explain_trace(p, f, d, &t);
	FUZZ_CHECK(t.n > 0 && t.n <= EXPLAIN_MAX_STEPS);
	for (size_t i = 0; i < t.n; i++)
		FUZZ_CHECK(fuzz_printable(t.step[i], strlen(t.step[i]), ""));

	/* Every request byte is escaped: one byte cannot forge a line. */
	text = explain_text(p, f, d, &len);
	FUZZ_CHECK(text != NULL && len == strlen(text));
	FUZZ_CHECK(fuzz_printable(text, len, "\n"));
	free(text);

	json = explain_json(p, f, d, &len);
	FUZZ_CHECK(json != NULL && len == strlen(json) && len > 2);
	FUZZ_CHECK(json[0] == '{' && json[len - 2] == '}' && json[len - 1] == '\n');
	FUZZ_CHECK(fuzz_no_ctl(json, len, "\n") && fuzz_utf8(json, len));
	free(json);
}

#endif
