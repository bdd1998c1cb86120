/*
 * The policy loader, YAML bytes in: config_load_buffer, then the lints of
 * `corsd -t`, then a few fixed requests decided and explained under whatever
 * loaded (the decision, the hints and the trace read every part of a policy).
 * Everything must be freed (LeakSanitizer), and every diagnostic must be one
 * line without control characters (policy names may be UTF-8), shaped
 * FILE:LINE:COLUMN: message, with a line inside the file or just after its
 * end, except the few problems that have no position.
 */
#include <stdlib.h>

#include "config.h"
#include "cors.h"
#include "diag.h"
#include "explain.h"
#include "lint.h"
#include "fuzz.h"

#define FILE_NAME "fuzz.yaml"

/* The problems that concern the whole file rather than a place in it. */
static bool positionless(const char *msg)
{
	static const char *const ok[] = {
	    "out of memory",
	    "file too large",
	    "the file is empty",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strncmp(msg, ok[i], strlen(ok[i])) == 0)
			return true;
	return false;
}

/* libyaml breaks lines at CR, LF, CR LF, NEL (C2 85), LS and PS (E2 80 A8/A9);
 * counting every byte that can end one bounds the lines a mark may name,
 * whatever the encoding (UTF-16 input included). */
static size_t max_lines(const uint8_t *data, size_t size)
{
	size_t n = 1;

	for (size_t i = 0; i < size; i++)
		if (data[i] == '\n' || data[i] == '\r' || data[i] == 0x85 || data[i] == 0xa8 ||
		    data[i] == 0xa9)
			n++;
	return n;
}

static void check_diags(const struct diag_list *d, const uint8_t *data, size_t size)
{
	size_t lines = max_lines(data, size);
	char line[1024];

	FUZZ_CHECK(d->n <= d->errors + d->warnings);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *e = &d->v[i];
		int len;
		char *p;

		diag_format(d, i, line, sizeof(line));
		len = (int)strlen(line);
		/* Policy names may be UTF-8; nothing may break the line. */
		FUZZ_CHECK(fuzz_no_ctl(line, (size_t)len, ""));
		FUZZ_CHECK(e->msg[0] != '\0');
		if (e->line == 0 && e->col == 0 && !e->warning && positionless(e->msg))
			continue;
		FUZZ_CHECK(e->line >= 1 && e->col >= 1);
		/* libyaml puts the end of the input on the line after the last. */
		FUZZ_CHECK((size_t)e->line <= lines + 1);
		FUZZ_CHECK(strncmp(line, FILE_NAME ":", sizeof(FILE_NAME)) == 0);
		p = line + sizeof(FILE_NAME);
		FUZZ_CHECK(strtol(p, &p, 10) == e->line && *p == ':');
		FUZZ_CHECK(strtol(p + 1, &p, 10) == e->col && strncmp(p, ": ", 2) == 0);
	}
}

/* A preflight, an actual request and a plain one, on two hosts and paths. */
static void decide_some(const struct policy *p)
{
	static const struct {
		const char *method, *path, *host, *origin, *acrm, *acrh;
	} req[] = {
	    {"OPTIONS", "/api/items", "api.example.com", "https://app.example.com", "PUT",
	     "content-type, x-request-id"},
	    {"GET", "/public/x", "other.example", "https://evil.example.com", NULL, NULL},
	    {"OPTIONS", "/", "api.example.com:8443", "null", "DELETE", "authorization"},
	    {"POST", "/api", NULL, NULL, NULL, NULL},
	};
	struct cors_facts *f = malloc(sizeof(*f));
	struct cors_decision *d = malloc(sizeof(*d));

	FUZZ_CHECK(f && d);
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		size_t len;
		char *text, *json;

		cors_facts_init(f, str_c(req[i].method), str_c(req[i].path));
		if (req[i].host)
			cors_facts_add_header(f, STR_LIT("Host"), str_c(req[i].host));
		if (req[i].origin)
			cors_facts_add_header(f, STR_LIT("Origin"), str_c(req[i].origin));
		if (req[i].acrm)
			cors_facts_add_header(f, STR_LIT("Access-Control-Request-Method"),
			                      str_c(req[i].acrm));
		if (req[i].acrh)
			cors_facts_add_header(f, STR_LIT("Access-Control-Request-Headers"),
			                      str_c(req[i].acrh));
		cors_decide(p, f, d);
		for (size_t h = 0; h < d->nheaders; h++)
			FUZZ_CHECK(fuzz_no_crlfnul(d->headers[h].value.p, d->headers[h].value.n));
		FUZZ_CHECK(fuzz_no_ctl(d->hint, strlen(d->hint), ""));
		text = explain_text(p, f, d, &len);
		FUZZ_CHECK(text && fuzz_no_ctl(text, len, "\n"));
		free(text);
		json = explain_json(p, f, d, &len);
		FUZZ_CHECK(json && fuzz_utf8(json, len));
		free(json);
	}
	free(f);
	free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag_list d;
	struct policy *p;

	diag_init(&d, FILE_NAME);
	p = config_load_buffer(FILE_NAME, (const char *)data, size, &d);
	FUZZ_CHECK((p != NULL) == (d.errors == 0));
	if (p) {
		FUZZ_CHECK(p->nrules > 0);
		lint_policy(p, &d);
		FUZZ_CHECK(d.errors == 0);
		decide_some(p);
	}
	check_diags(&d, data, size);
	policy_unref(p);
	diag_free(&d);
	return 0;
}
