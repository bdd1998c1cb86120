/*
 * explain: the golden files under tests/data/explain (each CASE.req is a
 * raw request head; CASE.txt and CASE.json the exact reports), a JSON
 * syntax check of every report, the JSON string escaping byte by byte, and
 * the facts built from GET /explain's parameters.
 *
 * CORSD_UPDATE_GOLDEN=1 rewrites the .txt and .json files instead of
 * comparing: review the diff before committing it.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "explain.h"
#include "head.h"
#include "unit.h"

#define GOLDEN_DIR CORSD_TEST_DATA "/explain"

static struct policy *policy;

static void setup(void)
{
	policy = unit_policy(GOLDEN_DIR "/policy.yaml", NULL);
}

static void teardown(void)
{
	policy_unref(policy);
}

/* ---- a strict JSON syntax check (RFC 8259), enough to trust the output ---- */

struct js {
	const char *p, *end;
};

static bool js_value(struct js *j, int depth);

static void js_ws(struct js *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r'))
		j->p++;
}

static bool js_lit(struct js *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return false;
	j->p += n;
	return true;
}

static bool js_string(struct js *j)
{
	if (j->p >= j->end || *j->p++ != '"')
		return false;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;

		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c == '\\') {
			if (j->p >= j->end)
				return false;
			c = (unsigned char)*j->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, j->p++)
					if (j->p >= j->end ||
					    !strchr("0123456789abcdefABCDEF", *j->p))
						return false;
			} else if (!strchr("\"\\/bfnrt", c)) {
				return false;
			}
		} else if (c >= 0x80) {
			/* Continuation bytes must follow a lead byte. */
			int more = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;

			if (more < 0 || c > 0xf4)
				return false;
			for (int i = 0; i < more; i++, j->p++)
				if (j->p >= j->end || ((unsigned char)*j->p & 0xc0) != 0x80)
					return false;
		}
	}
	return false;
}

static bool js_number(struct js *j)
{
	const char *start = j->p;

	if (j->p < j->end && *j->p == '-')
		j->p++;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static bool js_container(struct js *j, char close, bool object, int depth)
{
	j->p++;
	js_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return true;
	}
	for (;;) {
		js_ws(j);
		if (object) {
			if (!js_string(j))
				return false;
			js_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return false;
		}
		if (!js_value(j, depth + 1))
			return false;
		js_ws(j);
		if (j->p >= j->end)
			return false;
		if (*j->p == close) {
			j->p++;
			return true;
		}
		if (*j->p++ != ',')
			return false;
	}
}

static bool js_value(struct js *j, int depth)
{
	js_ws(j);
	if (j->p >= j->end || depth > 16)
		return false;
	switch (*j->p) {
	case '{':
		return js_container(j, '}', true, depth);
	case '[':
		return js_container(j, ']', false, depth);
	case '"':
		return js_string(j);
	case 't':
		return js_lit(j, "true");
	case 'f':
		return js_lit(j, "false");
	case 'n':
		return js_lit(j, "null");
	default:
		return js_number(j);
	}
}

static bool json_valid(const char *s, size_t n)
{
	struct js j = {s, s + n};

	if (!js_value(&j, 0))
		return false;
	js_ws(&j);
	return j.p == j.end;
}

/* ---- golden files ---- */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static void spill(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "cannot write %s", path);
	ck_assert_uint_eq(fwrite(s, 1, n, f), n);
	fclose(f);
}

/* Compares got with the golden file (or rewrites it); returns failures. */
static int golden(const char *path, const char *got, size_t n)
{
	size_t wlen = 0;
	char *want;
	int bad;

	if (getenv("CORSD_UPDATE_GOLDEN")) {
		spill(path, got, n);
		return 0;
	}
	want = slurp(path, &wlen);
	bad = !want || wlen != n || memcmp(want, got, n) != 0;
	if (bad)
		fprintf(stderr, "%s differs; got:\n%.*s\n", path, (int)n, got);
	free(want);
	return bad;
}

static int run_case(const char *name)
{
	static struct head_req head;
	static struct cors_facts f;
	static struct cors_decision d;
	char path[512], err[160];
	size_t len = 0, tlen = 0, jlen = 0;
	char *req, *text = NULL, *json = NULL;
	int bad = 0;

	snprintf(path, sizeof(path), "%s/%s.req", GOLDEN_DIR, name);
	req = slurp(path, &len);
	ck_assert_msg(req != NULL, "cannot read %s", path);
	ck_assert_msg(head_parse(req, len, &head, err, sizeof(err)) == 0, "%s: %s", name, err);
	cors_facts_init(&f, head.method, head.path);
	for (size_t i = 0; i < head.nfields; i++)
		cors_facts_add_header(&f, head.fields[i].name, head.fields[i].value);
	cors_decide(policy, &f, &d);
	text = explain_text(policy, &f, &d, &tlen);
	json = explain_json(policy, &f, &d, &jlen);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(json);
	ck_assert_uint_eq(strlen(text), tlen);
	ck_assert_uint_eq(strlen(json), jlen);
	if (!json_valid(json, jlen)) {
		fprintf(stderr, "%s: invalid JSON:\n%s\n", name, json);
		bad++;
	}
	snprintf(path, sizeof(path), "%s/%s.txt", GOLDEN_DIR, name);
	bad += golden(path, text, tlen);
	snprintf(path, sizeof(path), "%s/%s.json", GOLDEN_DIR, name);
	bad += golden(path, json, jlen);
	free(text);
	free(json);
	free(req);
	return bad;
}

START_TEST(test_golden)
{
	DIR *dir = opendir(GOLDEN_DIR);
	struct dirent *e;
	int cases = 0, bad = 0;

	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir)) != NULL) {
		size_t n = strlen(e->d_name);
		char name[256];

		if (n <= 4 || n >= sizeof(name) || strcmp(e->d_name + n - 4, ".req") != 0)
			continue;
		memcpy(name, e->d_name, n - 4);
		name[n - 4] = '\0';
		bad += run_case(name);
		cases++;
	}
	closedir(dir);
	ck_assert_int_ge(cases, 10);
	ck_assert_msg(bad == 0, "%d golden mismatches (see stderr)", bad);
}
END_TEST

/* ---- JSON escaping, exactly ---- */

/* The JSON value of "key" inside the "request" object, as written. */
static const char *request_field(const char *json, const char *key, char *out, size_t outsz)
{
	char pat[64];
	const char *p = strstr(json, "\"request\": {"), *q;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	ck_assert_ptr_nonnull(p);
	p = strstr(p, pat);
	ck_assert_ptr_nonnull(p);
	p += strlen(pat);
	q = p + strcspn(p, ",}");
	/* A string value may hold ',' or '}': find its closing quote. */
	if (*p == '"') {
		for (q = p + 1; *q && *q != '"'; q++)
			if (*q == '\\')
				q++;
		q++;
	}
	snprintf(out, outsz, "%.*s", (int)(q - p), p);
	return out;
}

struct esc_row {
	const char *in, *want;
};

static const struct esc_row esc_rows[] = {
    {"plain", "\"plain\""},
    {"q\"b\\s/", "\"q\\\"b\\\\s/\""},
    {"\x01\x1f\t\x7f", "\"\\u0001\\u001f\\t\\u007f\""},
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""},
    {"bad \xff\xc3", "\"bad \\ufffd\\ufffd\""},
    {"overlong \xc0\xaf", "\"overlong \\ufffd\\ufffd\""},
    {"surrogate \xed\xa0\x80", "\"surrogate \\ufffd\\ufffd\\ufffd\""},
    {"too big \xf4\x90\x80\x80", "\"too big \\ufffd\\ufffd\\ufffd\\ufffd\""},
};

START_TEST(test_json_escaping)
{
	const struct esc_row *r = &esc_rows[_i];
	static struct cors_facts f;
	static struct cors_decision d;
	char got[256];
	size_t len;
	char *json;

	cors_facts_init(&f, STR_LIT("GET"), STR_LIT("/api/x"));
	cors_facts_add_header(&f, STR_LIT("Host"), STR_LIT("api.example.com"));
	cors_facts_add_header(&f, STR_LIT("Origin"), str_c(r->in));
	cors_decide(policy, &f, &d);
	json = explain_json(policy, &f, &d, &len);
	ck_assert_ptr_nonnull(json);
	ck_assert_msg(json_valid(json, len), "invalid JSON:\n%s", json);
	ck_assert_str_eq(request_field(json, "origin", got, sizeof(got)), r->want);
	/* Hint, trace, headers: printable ASCII, no raw byte got there. */
	for (const char *p = strstr(json, "\"hint\""); p < strstr(json, "\"request\""); p++)
		ck_assert_msg(*p == '\n' || (*p >= 0x20 && *p < 0x7f), "raw byte: %s", json);
	free(json);
}
END_TEST

START_TEST(test_json_no_policy_is_null)
{
	static struct cors_facts f;
	static struct cors_decision d;
	size_t len;
	char *json;

	cors_facts_init(&f, STR_LIT("GET"), STR_LIT("/nowhere"));
	cors_decide(policy, &f, &d);
	json = explain_json(policy, &f, &d, &len);
	ck_assert_ptr_nonnull(json);
	ck_assert_str_eq(json, "{\n"
	                       "  \"policy\": null,\n"
	                       "  \"kind\": \"plain\",\n"
	                       "  \"verdict\": \"none\",\n"
	                       "  \"reason\": \"no_policy\",\n"
	                       "  \"detail\": null,\n"
	                       "  \"origin_rule\": null,\n"
	                       "  \"report_only\": false,\n"
	                       "  \"hint\": null,\n"
	                       "  \"status\": null,\n"
	                       "  \"body\": null,\n"
	                       "  \"trace\": [\n"
	                       "    \"no policy matched (host absent, path /nowhere): proxied "
	                       "with no CORS headers\",\n"
	                       "    \"kind: plain (no Origin)\"\n"
	                       "  ],\n"
	                       "  \"headers\": [],\n"
	                       "  \"vary\": [],\n"
	                       "  \"request\": {\n"
	                       "    \"method\": \"GET\",\n"
	                       "    \"path\": \"/nowhere\",\n"
	                       "    \"host\": null,\n"
	                       "    \"origin\": null,\n"
	                       "    \"access_control_request_method\": null,\n"
	                       "    \"access_control_request_headers\": null,\n"
	                       "    \"access_control_request_private_network\": false\n"
	                       "  }\n"
	                       "}\n");
	free(json);
}
END_TEST

/* ---- facts from GET /explain's parameters ---- */

struct param_row {
	const char *method, *path, *host, *origin, *headers;
	bool pna;
	int rc;
	const char *want_method, *want_path, *want_acrm, *want_acrh;
	bool want_pna;
};

static const struct param_row param_rows[] = {
    /* A method that needs a preflight: the facts are the preflight's. */
    {"PUT", "/api/x", "api.example.com", "https://app.example.com", "content-type", false, 0,
     "OPTIONS", "/api/x", "PUT", "content-type", false},
    /* Safelisted method, no headers: the actual request. */
    {"GET", "/api/x?q=1", "api.example.com", "https://app.example.com", NULL, false, 0, "GET",
     "/api/x", NULL, NULL, false},
    {"POST", NULL, NULL, "https://app.example.com", "X-Foo", false, 0, "OPTIONS", "/", "POST",
     "X-Foo", false},
    {"GET", "/", NULL, "https://app.example.com", NULL, true, 0, "OPTIONS", "/", "GET", NULL, true},
    {"GET", "/", NULL, "https://app.example.com", " , ", false, 0, "GET", "/", NULL, NULL, false},
    {"patch", "/", NULL, "https://app.example.com", "", false, 0, "OPTIONS", "/", "patch", NULL,
     false},
    /* No Origin: no preflight, whatever the method. */
    {"DELETE", "/api", NULL, NULL, "X-Foo", false, 0, "DELETE", "/api", NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, false, 0, "GET", "/", NULL, NULL, false},
    {"", "", "", "", "", false, 0, "GET", "/", NULL, NULL, false},
    /* What the server would refuse. */
    {"PU T", "/", NULL, NULL, NULL, false, -1, NULL, NULL, NULL, NULL, false},
    {"GET", "api", NULL, NULL, NULL, false, -1, NULL, NULL, NULL, NULL, false},
    {"GET", "/", NULL, "https://a.example\r\nX: y", NULL, false, -1, NULL, NULL, NULL, NULL, false},
    {"GET", "/", "h\n", NULL, NULL, false, -1, NULL, NULL, NULL, NULL, false},
};

static bool same(struct str s, const char *want)
{
	return want ? str_eq(s, str_c(want)) : s.p == NULL;
}

START_TEST(test_facts_from_params)
{
	const struct param_row *r = &param_rows[_i];
	static struct cors_facts f;
	const char *why = "unset";
	int rc = explain_facts_from_params(&f, r->method, r->path, r->host, r->origin, r->headers,
	                                   r->pna, &why);

	ck_assert_int_eq(rc, r->rc);
	if (rc != 0) {
		ck_assert_ptr_nonnull(why);
		return;
	}
	ck_assert_ptr_null(why);
	ck_assert_msg(same(f.method, r->want_method), "method %.*s", (int)f.method.n, f.method.p);
	ck_assert_msg(same(f.path, r->want_path), "path %.*s", (int)f.path.n, f.path.p);
	ck_assert(same(f.host, r->host && *r->host ? r->host : NULL));
	ck_assert(same(f.origin, r->origin && *r->origin ? r->origin : NULL));
	ck_assert(same(f.acr_method, r->want_acrm));
	ck_assert(r->want_acrh ? f.acrh_present && strcmp(f.acrh_buf, r->want_acrh) == 0
	                       : !f.acrh_present);
	ck_assert(f.acr_private_network == r->want_pna);
}
END_TEST

/* The issue's own example, end to end as the admin will run it. */
START_TEST(test_params_to_json)
{
	static struct cors_facts f;
	static struct cors_decision d;
	const char *why;
	size_t len;
	char *json;

	ck_assert_int_eq(explain_facts_from_params(&f, "PUT", "/api/x", "api.example.com",
	                                           "http://localhost:5173", "Content-Type", false,
	                                           &why),
	                 0);
	cors_decide(policy, &f, &d);
	json = explain_json(policy, &f, &d, &len);
	ck_assert_ptr_nonnull(json);
	ck_assert(json_valid(json, len));
	ck_assert_ptr_nonnull(strstr(json,
	                             "\"policy\": \"app-api\",\n  \"kind\": \"preflight\",\n"
	                             "  \"verdict\": \"denied\",\n  \"reason\": \"origin\","));
	ck_assert_ptr_nonnull(strstr(json,
	                             "\"hint\": \"origin `http://localhost:5173` not allowed: "
	                             "closest entry `http://localhost:3000` differs in port "
	                             "(5173 vs 3000)\",\n  \"status\": 403,"));
	free(json);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("explain");
	TCase *tc = tcase_create("explain");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_golden);
	tcase_add_loop_test(tc, test_json_escaping, 0,
	                    (int)(sizeof(esc_rows) / sizeof(esc_rows[0])));
	tcase_add_test(tc, test_json_no_policy_is_null);
	tcase_add_loop_test(tc, test_facts_from_params, 0,
	                    (int)(sizeof(param_rows) / sizeof(param_rows[0])));
	tcase_add_test(tc, test_params_to_json);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
