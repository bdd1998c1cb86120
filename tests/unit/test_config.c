/*
 * Unit tests for the policy file loader: values, defaults, and the exact
 * FILE:LINE:COLUMN diagnostics of every class of mistake.
 */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

/* Every valid snippet below needs these two; they are lines 1 and 2. */
#define HEAD "upstream: \"http://127.0.0.1:9000\"\npolicies:\n"

static struct policy *load(const char *yaml, struct diag_list *d)
{
	diag_init(d, "t.yaml");
	return config_load_buffer("t.yaml", yaml, strlen(yaml), d);
}

/* The diagnostics as "LINE:COL: [warning: ]message\n" lines, malloc'd. */
static char *render(const struct diag_list *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < d->n; i++)
		fprintf(f, "%d:%d: %s%s\n", d->v[i].line, d->v[i].col,
		        d->v[i].warning ? "warning: " : "", d->v[i].msg);
	fclose(f);
	return buf;
}

/* Loading must fail with exactly `expected` (all diagnostics, in order). */
static void expect_errors(const char *yaml, const char *expected)
{
	struct diag_list d;
	struct policy *p = load(yaml, &d);
	char *got = render(&d);

	ck_assert_msg(p == NULL, "loaded although it should not:\n%s", yaml);
	ck_assert_msg(d.errors > 0, "no error counted");
	ck_assert_str_eq(got, expected);
	free(got);
	diag_free(&d);
}

/* The message origin.c gives for an entry, so the test pins the position and
 * the "origins: ..." framing without copying origin.c's wording. */
static char *origin_err(const char *text)
{
	struct origin_rule r;
	char err[256] = "";

	ck_assert_int_eq(origin_rule_parse(text, &r, err, sizeof(err)), -1);
	return strdup(err);
}

START_TEST(full_file)
{
	struct diag_list d;
	struct policy *p;
	const struct policy_rule *r;

	diag_init(&d, CORSD_TEST_DATA "/config/full.yaml");
	p = config_load_file(CORSD_TEST_DATA "/config/full.yaml", &d);
	ck_assert_msg(p != NULL, "full.yaml failed to load");
	ck_assert_uint_eq(d.errors, 0);
	ck_assert_uint_eq(d.warnings, 0);
	ck_assert_int_eq(atomic_load(&p->refs), 1);
	ck_assert_str_eq(p->file, CORSD_TEST_DATA "/config/full.yaml");

	ck_assert_uint_eq(p->nlisten, 2);
	ck_assert_str_eq(p->listen[0].text, "0.0.0.0:8081");
	ck_assert_str_eq(p->listen[0].host, "0.0.0.0");
	ck_assert_uint_eq(p->listen[0].port, 8081);
	ck_assert_int_eq(p->listen[0].line, 3);
	ck_assert_int_eq(p->listen[0].col, 5);
	ck_assert_str_eq(p->listen[1].host, "::1");
	ck_assert_uint_eq(p->listen[1].port, 0);

	ck_assert_str_eq(p->upstream.text, "http://Backend.internal:9000/v2/");
	ck_assert_str_eq(p->upstream.host, "backend.internal");
	ck_assert_uint_eq(p->upstream.port, 9000);
	ck_assert_str_eq(p->upstream.base_path, "/v2");
	ck_assert_str_eq(p->upstream.hostport, "backend.internal:9000");

	ck_assert_int_eq(p->workers, 4);
	ck_assert_uint_eq(p->connect_ms, 250);
	ck_assert_uint_eq(p->upstream_ms, 120000);
	ck_assert_uint_eq(p->client_ms, 30000);
	ck_assert_uint_eq(p->shutdown_ms, 3600000);
	ck_assert_uint_eq(p->max_header_bytes, 8192);
	ck_assert_uint_eq(p->max_body_bytes, 1048576);
	ck_assert_uint_eq(p->max_connections, 100);
	ck_assert(!p->forwarded);
	ck_assert_int_eq(p->log_level, POLICY_LOG_DEBUG);
	ck_assert_int_eq(p->log_format, POLICY_LOG_JSON);
	ck_assert(!p->log_access);
	ck_assert(p->has_admin);
	ck_assert_str_eq(p->admin.host, "127.0.0.1");
	ck_assert_uint_eq(p->admin.port, 9901);

	ck_assert_uint_eq(p->nrules, 2);
	r = &p->rules[0];
	ck_assert_str_eq(r->name, "app");
	ck_assert_int_eq(r->line, 24);
	ck_assert_int_eq(r->col, 5);
	ck_assert_str_eq(r->path, "/api/");
	ck_assert_uint_eq(r->path_len, 5);
	ck_assert_str_eq(r->host, "api.example.com");
	ck_assert_ptr_nonnull(r->upstream);
	ck_assert_str_eq(r->upstream->host, "::1");
	ck_assert_uint_eq(r->upstream->port, 9001);
	ck_assert_str_eq(r->upstream->base_path, "");
	ck_assert_str_eq(r->upstream->hostport, "[::1]:9001");
	ck_assert_uint_eq(r->norigins, 4);
	ck_assert_int_eq(r->origins[0].kind, ORIGIN_RULE_EXACT);
	ck_assert_int_eq(r->origins[0].line, 29);
	ck_assert_int_eq(r->origins[0].col, 9);
	ck_assert_int_eq(r->origins[1].kind, ORIGIN_RULE_WILDCARD);
	ck_assert_int_eq(r->origins[2].kind, ORIGIN_RULE_REGEX);
	ck_assert_int_eq(r->origins[3].kind, ORIGIN_RULE_NULL);
	ck_assert_int_eq(r->origins[3].line, 32);
	ck_assert(!r->any_origin);
	ck_assert_uint_eq(r->nmethods, 3);
	ck_assert_str_eq(r->methods[2], "patch");
	ck_assert_str_eq(r->allow_methods_value, "GET, PUT, patch");
	ck_assert_uint_eq(r->nheaders, 2);
	ck_assert_str_eq(r->headers[0], "Authorization");
	ck_assert(!r->any_header);
	ck_assert_uint_eq(r->nexpose, 2);
	ck_assert_str_eq(r->expose_value, "X-Request-ID, ETag");
	ck_assert(!r->any_expose);
	ck_assert(r->credentials);
	ck_assert_int_eq(r->max_age, 600);
	ck_assert_str_eq(r->max_age_value, "600");
	ck_assert(r->private_network);
	ck_assert_int_eq(r->preflight, POLICY_PREFLIGHT_FORWARD);
	ck_assert_int_eq(r->deny, POLICY_DENY_OMIT);
	ck_assert(r->enforce);
	ck_assert(r->report_only);
	ck_assert(r->vary_origin);

	r = &p->rules[1];
	ck_assert_str_eq(r->name, "policy-2");
	ck_assert_str_eq(r->path, "/");
	ck_assert_ptr_null(r->host);
	ck_assert_ptr_null(r->upstream);
	ck_assert(r->any_origin);
	ck_assert(r->any_header);
	ck_assert_uint_eq(r->nheaders, 0);
	ck_assert(r->any_expose);
	ck_assert_str_eq(r->expose_value, "*");
	ck_assert_int_eq(r->max_age, 0);
	ck_assert_str_eq(r->max_age_value, "0");
	ck_assert(!r->vary_origin);
	policy_unref(p);
	diag_free(&d);
}
END_TEST

START_TEST(defaults)
{
	struct diag_list d;
	struct policy *p = load(HEAD "  - origins: [\"https://a.example\"]\n", &d);
	const struct policy_rule *r;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(d.n, 0);
	ck_assert_uint_eq(p->nlisten, 1);
	ck_assert_str_eq(p->listen[0].text, "127.0.0.1:8080");
	ck_assert_str_eq(p->listen[0].host, "127.0.0.1");
	ck_assert_uint_eq(p->listen[0].port, 8080);
	ck_assert_str_eq(p->upstream.host, "127.0.0.1");
	ck_assert_uint_eq(p->upstream.port, 9000);
	ck_assert_str_eq(p->upstream.base_path, "");
	ck_assert_str_eq(p->upstream.hostport, "127.0.0.1:9000");
	ck_assert_int_eq(p->workers, 1);
	ck_assert_uint_eq(p->connect_ms, 5000);
	ck_assert_uint_eq(p->upstream_ms, 60000);
	ck_assert_uint_eq(p->client_ms, 60000);
	ck_assert_uint_eq(p->shutdown_ms, 10000);
	ck_assert_uint_eq(p->max_header_bytes, 16384);
	ck_assert_uint_eq(p->max_body_bytes, 10485760);
	ck_assert_uint_eq(p->max_connections, 4096);
	ck_assert(p->forwarded);
	ck_assert_int_eq(p->log_level, POLICY_LOG_INFO);
	ck_assert_int_eq(p->log_format, POLICY_LOG_TEXT);
	ck_assert(p->log_access);
	ck_assert(!p->has_admin);

	ck_assert_uint_eq(p->nrules, 1);
	r = &p->rules[0];
	ck_assert_str_eq(r->name, "policy-1");
	ck_assert_str_eq(r->path, "/");
	ck_assert_uint_eq(r->path_len, 1);
	ck_assert_ptr_null(r->host);
	ck_assert_ptr_null(r->upstream);
	ck_assert_int_eq(r->line, 3);
	ck_assert_int_eq(r->col, 5);
	ck_assert_uint_eq(r->nmethods, 3);
	ck_assert_str_eq(r->allow_methods_value, "GET, HEAD, POST");
	ck_assert_uint_eq(r->nheaders, 0);
	ck_assert(!r->any_header);
	ck_assert_uint_eq(r->nexpose, 0);
	ck_assert_ptr_null(r->expose_value);
	ck_assert(!r->credentials);
	ck_assert_int_eq(r->max_age, -1);
	ck_assert_ptr_null(r->max_age_value);
	ck_assert(!r->private_network);
	ck_assert_int_eq(r->preflight, POLICY_PREFLIGHT_ANSWER);
	ck_assert_int_eq(r->deny, POLICY_DENY_REJECT);
	ck_assert(!r->enforce);
	ck_assert(!r->report_only);
	ck_assert(r->vary_origin);
	policy_unref(p);
	diag_free(&d);
}
END_TEST

START_TEST(shipped_example_is_clean)
{
	const char *file = CORSD_TEST_DATA "/../../conf/corsd.yaml";
	struct diag_list d;
	struct policy *p;
	char *got;

	diag_init(&d, file);
	p = config_load_file(file, &d);
	got = render(&d);
	ck_assert_str_eq(got, "");
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->listen[0].port, 8080);
	ck_assert_str_eq(p->upstream.hostport, "127.0.0.1:9000");
	ck_assert(p->has_admin);
	ck_assert_str_eq(p->admin.host, "127.0.0.1");
	ck_assert_uint_ge(p->nrules, 2);
	free(got);
	policy_unref(p);
	diag_free(&d);
}
END_TEST

START_TEST(vary_and_values)
{
	struct diag_list d;
	struct policy *p = load(HEAD "  - path: /a\n"
	                             "    origins: [\"*\"]\n"
	                             "    credentials: false\n"
	                             "  - path: /b\n"
	                             "    origins: [\"https://a.example\", \"null\"]\n"
	                             "    credentials: true\n"
	                             "    methods: [DELETE]\n"
	                             "    expose_headers: [X-One]\n"
	                             "  - path: /c\n"
	                             "    origins: [\"https://a.example\", \"*\"]\n",
	                        &d);

	ck_assert_ptr_nonnull(p);
	ck_assert(!p->rules[0].vary_origin);
	ck_assert(p->rules[1].vary_origin);
	ck_assert_str_eq(p->rules[1].allow_methods_value, "DELETE");
	ck_assert_str_eq(p->rules[1].expose_value, "X-One");
	/* "*" anywhere in the list makes the answer the same for every origin. */
	ck_assert(p->rules[2].any_origin);
	ck_assert(!p->rules[2].vary_origin);
	policy_unref(p);
	diag_free(&d);
}
END_TEST

START_TEST(quoting_and_booleans)
{
	struct diag_list d;
	struct policy *p = load(HEAD "  - origins: [\"https://a.example\"]\n"
	                             "    max_age: \"30\"\n"
	                             "    credentials: \"True\"\n"
	                             "    enforce: FALSE\n",
	                        &d);

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(p->rules[0].max_age, 30);
	ck_assert(p->rules[0].credentials);
	ck_assert(!p->rules[0].enforce);
	policy_unref(p);
	diag_free(&d);
}
END_TEST

START_TEST(upstream_forms)
{
	static const struct {
		const char *url, *host, *base, *hostport;
		unsigned port;
	} t[] = {
	    {"http://a.example", "a.example", "", "a.example:80", 80},
	    {"http://a.example/", "a.example", "", "a.example:80", 80},
	    {"HTTP://A.Example:8080/x/y//", "a.example", "/x/y", "a.example:8080", 8080},
	    {"http://[2001:db8::1]/api", "2001:db8::1", "/api", "[2001:db8::1]:80", 80},
	    {"http://backend_1:65535", "backend_1", "", "backend_1:65535", 65535},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char yaml[256];
		struct diag_list d;
		struct policy *p;

		snprintf(yaml, sizeof(yaml), "upstream: \"%s\"\npolicies: [{origins: [\"*\"]}]\n",
		         t[i].url);
		p = load(yaml, &d);
		ck_assert_msg(p != NULL, "%s did not load", t[i].url);
		ck_assert_str_eq(p->upstream.text, t[i].url);
		ck_assert_str_eq(p->upstream.host, t[i].host);
		ck_assert_str_eq(p->upstream.base_path, t[i].base);
		ck_assert_str_eq(p->upstream.hostport, t[i].hostport);
		ck_assert_uint_eq(p->upstream.port, t[i].port);
		policy_unref(p);
		diag_free(&d);
	}
}
END_TEST

START_TEST(listen_forms)
{
	struct diag_list d;
	struct policy *p = load("listen: \"[::]:0\"\n" HEAD "  - origins: [\"*\"]\n", &d);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nlisten, 1);
	ck_assert_str_eq(p->listen[0].text, "[::]:0");
	ck_assert_str_eq(p->listen[0].host, "::");
	ck_assert_uint_eq(p->listen[0].port, 0);
	ck_assert_int_eq(p->listen[0].line, 1);
	ck_assert_int_eq(p->listen[0].col, 9);
	policy_unref(p);
	diag_free(&d);

	p = load("listen: [\"localhost:1\", \"127.0.0.1:65535\"]\n" HEAD "  - origins: [\"*\"]\n",
	         &d);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p->nlisten, 2);
	ck_assert_str_eq(p->listen[0].host, "localhost");
	ck_assert_uint_eq(p->listen[1].port, 65535);
	policy_unref(p);
	diag_free(&d);
}
END_TEST

START_TEST(workers_auto)
{
	struct diag_list d;
	struct policy *p = load("workers: auto\n" HEAD "  - origins: [\"*\"]\n", &d);
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	ck_assert_ptr_nonnull(p);
	if (cpus < 1)
		cpus = 1;
	if (cpus > 256)
		cpus = 256;
	ck_assert_int_eq(p->workers, cpus);
	policy_unref(p);
	diag_free(&d);
}
END_TEST

START_TEST(warnings_do_not_fail)
{
	struct diag_list d;
	struct policy *p = load(HEAD "  - origins: [\"*\"]\n"
	                             "    methods: [GET, PUT, GET]\n"
	                             "    headers: [X-A, x-a]\n",
	                        &d);
	char *got = render(&d);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(d.errors, 0);
	ck_assert_str_eq(got, "4:25: warning: methods: duplicate \"GET\" ignored\n"
	                      "5:20: warning: headers: duplicate \"x-a\" ignored\n");
	ck_assert_str_eq(p->rules[0].allow_methods_value, "GET, PUT");
	ck_assert_uint_eq(p->rules[0].nheaders, 1);
	free(got);
	policy_unref(p);
	diag_free(&d);
}
END_TEST

START_TEST(err_unknown_key_top)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "lissten: \"127.0.0.1:1\"\n"
	                   "frobnicate: 1\n",
	              "4:1: unknown key \"lissten\" (did you mean \"listen\"?)\n"
	              "5:1: unknown key \"frobnicate\"\n");
}
END_TEST

START_TEST(err_unknown_key_policy)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "    max-age: 5\n"
	                   "timeouts:\n"
	                   "  idle: 5s\n",
	              "4:5: unknown key \"max-age\" in a policy (did you mean \"max_age\"?)\n"
	              "6:3: unknown key \"idle\" in timeouts\n");
}
END_TEST

START_TEST(err_wrong_types)
{
	expect_errors(HEAD "  - origins: \"https://a.example\"\n"
	                   "    credentials: [true]\n"
	                   "    path: {a: 1}\n"
	                   "    private_network: yes\n"
	                   "    max_age: 10m\n"
	                   "    preflight:\n"
	                   "forwarded: 1\n"
	                   "log: debug\n"
	                   "workers: many\n",
	              "3:14: origins: expected a list, got \"https://a.example\"\n"
	              "4:18: credentials: expected a boolean (true or false), got a list\n"
	              "5:11: path: expected a string, got a mapping\n"
	              "6:22: private_network: expected a boolean (true or false), got \"yes\"\n"
	              "7:14: max_age: expected an integer, got \"10m\"\n"
	              "8:15: preflight: expected answer or forward, got null\n"
	              "9:12: forwarded: expected a boolean (true or false), got \"1\"\n"
	              "10:6: log: expected a mapping, got \"debug\"\n"
	              "11:10: workers: expected an integer or \"auto\", got \"many\"\n");
}
END_TEST

START_TEST(err_bad_duration)
{
	expect_errors(
	    HEAD "  - origins: [\"*\"]\n"
	         "timeouts:\n"
	         "  connect: 5x\n"
	         "  upstream: 0\n"
	         "  client: -1s\n"
	         "  shutdown: 5000000s\n",
	    "5:12: timeouts.connect: invalid duration \"5x\" (expected a number > 0 with "
	    "an optional unit: ms, s, m or h, as in 250ms, 5s, 2m)\n"
	    "6:13: timeouts.upstream: invalid duration \"0\" (expected a number > 0 with "
	    "an optional unit: ms, s, m or h, as in 250ms, 5s, 2m)\n"
	    "7:11: timeouts.client: invalid duration \"-1s\" (expected a number > 0 with "
	    "an optional unit: ms, s, m or h, as in 250ms, 5s, 2m)\n"
	    "8:13: timeouts.shutdown: invalid duration \"5000000s\" (expected a number > 0 "
	    "with an optional unit: ms, s, m or h, as in 250ms, 5s, 2m)\n");
}
END_TEST

START_TEST(err_bad_upstream)
{
	expect_errors("upstream: \"ftp://a.example\"\n"
	              "policies:\n"
	              "  - origins: [\"*\"]\n"
	              "    upstream: \"http://a.example:0\"\n"
	              "  - origins: [\"*\"]\n"
	              "    path: /b\n"
	              "    upstream: \"http://user:pw@a.example/\"\n"
	              "  - origins: [\"*\"]\n"
	              "    path: /c\n"
	              "    upstream: \"http://a.example/x?y=1\"\n"
	              "  - origins: [\"*\"]\n"
	              "    path: /d\n"
	              "    upstream: \"http://\"\n",
	              "1:11: upstream: invalid URL \"ftp://a.example\" (expected "
	              "http://HOST[:PORT][/base-path])\n"
	              "4:15: upstream: invalid port in \"http://a.example:0\" (expected 1-65535)\n"
	              "7:15: upstream: userinfo is not allowed in \"http://user:pw@a.example/\"\n"
	              "10:15: upstream: a query or fragment is not allowed in "
	              "\"http://a.example/x?y=1\"\n"
	              "13:15: upstream: invalid URL \"http://\" (expected "
	              "http://HOST[:PORT][/base-path])\n");
}
END_TEST

START_TEST(err_https_upstream)
{
	expect_errors("upstream: https://a.example\n"
	              "policies: [{origins: [\"*\"]}]\n",
	              "1:11: upstream: https upstreams are not supported; use http:// (terminate "
	              "TLS in front of the upstream)\n");
}
END_TEST

START_TEST(err_bad_listen)
{
	expect_errors(
	    "listen: [\"127.0.0.1\", \"h:65536\", \"::1:80\", \"[::1]80\", \"[zz]:1\"]\n" HEAD
	    "  - origins: [\"*\"]\n"
	    "admin:\n"
	    "  listen: 9901\n",
	    "1:10: listen: invalid address \"127.0.0.1\" (expected HOST:PORT or "
	    "[IPv6]:PORT)\n"
	    "1:23: listen: invalid port in \"h:65536\" (expected 0-65535)\n"
	    "1:34: listen: IPv6 addresses must be in brackets, as in \"[::1]:8080\"\n"
	    "1:44: listen: invalid address \"[::1]80\" (expected HOST:PORT or "
	    "[IPv6]:PORT)\n"
	    "1:55: listen: invalid address \"[zz]:1\" (expected HOST:PORT or "
	    "[IPv6]:PORT)\n"
	    "6:11: admin.listen: invalid address \"9901\" (expected HOST:PORT or "
	    "[IPv6]:PORT)\n");
}
END_TEST

START_TEST(err_admin_without_listen)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "admin:\n"
	                   "  listn: \"127.0.0.1:9901\"\n",
	              "5:3: unknown key \"listn\" in admin (did you mean \"listen\"?)\n"
	              "5:3: missing required key \"listen\" in admin\n");
}
END_TEST

START_TEST(err_malformed_origin)
{
	char *e1 = origin_err("https://a.example/path");
	char *e2 = origin_err("a.example");
	char want[1024];

	snprintf(want, sizeof(want),
	         "4:9: origins: \"https://a.example/path\": %s\n"
	         "5:9: origins: \"a.example\": %s\n"
	         "6:9: origins: expected a string, got null (write the opaque origin in quotes: "
	         "\"null\")\n",
	         e1, e2);
	expect_errors(HEAD "  - origins:\n"
	                   "      - \"https://a.example/path\"\n"
	                   "      - a.example\n"
	                   "      - null\n",
	              want);
	free(e1);
	free(e2);
}
END_TEST

START_TEST(err_bad_regex)
{
	char *e = origin_err("~^https://(a|b\\.example$");
	char want[512];

	snprintf(want, sizeof(want), "3:36: origins: \"~^https://(a|b\\\\.example$\": %s\n", e);
	expect_errors(
	    HEAD "  - origins: [\"https://x.example\", \"~^https://(a|b\\\\.example$\"]\n", want);
	free(e);
}
END_TEST

START_TEST(err_bad_method)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "    methods: [GET, \"PO ST\", \"*\", \"G(T\", \"\"]\n"
	                   "  - origins: [\"*\"]\n"
	                   "    path: /x\n"
	                   "    methods: []\n",
	              "4:20: methods: \"PO ST\" is not a valid method name\n"
	              "4:29: methods: \"*\" is not allowed; list the methods\n"
	              "4:34: methods: \"G(T\" is not a valid method name\n"
	              "4:41: methods: \"\" is not a valid method name\n"
	              "7:14: methods: must not be empty\n");
}
END_TEST

START_TEST(err_bad_header)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "    headers: [X-Ok, \"X Bad\", \"X:Bad\"]\n"
	                   "    expose_headers: [\"X-A\", \"*\", \"X@B\"]\n",
	              "4:21: headers: \"X Bad\" is not a valid header name\n"
	              "4:30: headers: \"X:Bad\" is not a valid header name\n"
	              "5:34: expose_headers: \"X@B\" is not a valid header name\n"
	              "5:29: expose_headers: \"*\" must be the only entry\n");
}
END_TEST

START_TEST(err_credentials_any_origin)
{
	expect_errors(HEAD "  - origins: [\"https://a.example\", \"*\"]\n"
	                   "    credentials: true\n",
	              "3:36: origins: \"*\" cannot be combined with credentials: true; list the "
	              "allowed origins\n");
}
END_TEST

START_TEST(err_credentials_any_header)
{
	expect_errors(HEAD "  - credentials: true\n"
	                   "    origins: [\"https://a.example\"]\n"
	                   "    headers: [\"*\"]\n",
	              "5:15: headers: \"*\" cannot be combined with credentials: true; list the "
	              "allowed headers\n");
}
END_TEST

START_TEST(err_credentials_any_expose)
{
	expect_errors(HEAD "  - origins: [\"https://a.example\"]\n"
	                   "    expose_headers:\n"
	                   "      - \"*\"\n"
	                   "    credentials: true\n",
	              "5:9: expose_headers: \"*\" cannot be combined with credentials: true; list "
	              "the exposed headers\n");
}
END_TEST

START_TEST(err_duplicate_host_path)
{
	expect_errors(
	    HEAD "  - name: one\n"
	         "    path: /api\n"
	         "    origins: [\"*\"]\n"
	         "  - name: two\n"
	         "    host: a.example\n"
	         "    path: /api\n"
	         "    origins: [\"*\"]\n"
	         "  - name: three\n"
	         "    path: /api\n"
	         "    origins: [\"*\"]\n"
	         "  - name: four\n"
	         "    host: A.EXAMPLE\n"
	         "    path: /api\n"
	         "    origins: [\"*\"]\n"
	         "  - name: one\n"
	         "    origins: [\"*\"]\n"
	         "  - origins: [\"*\"]\n",
	    "11:11: policy \"three\": path \"/api\" (any host) is already used by policy "
	    "\"one\" at line 3\n"
	    "15:11: policy \"four\": host \"a.example\" and path \"/api\" are already used "
	    "by policy \"two\" at line 6\n"
	    "17:11: duplicate policy name \"one\" (first at line 3)\n"
	    "19:5: policy \"policy-6\": path \"/\" (any host) is already used by policy "
	    "\"one\" at line 17\n");
}
END_TEST

START_TEST(err_max_age_negative)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "    max_age: -1\n",
	              "4:14: max_age must be >= 0\n");
}
END_TEST

START_TEST(err_empty_policies)
{
	expect_errors("upstream: http://a.example\npolicies: []\n",
	              "2:11: policies: must not be empty\n");
	expect_errors("upstream: http://a.example\npolicies:\n",
	              "2:10: policies: expected a list, got null\n");
}
END_TEST

START_TEST(err_missing_required)
{
	expect_errors("# comment\n\nlisten: \"127.0.0.1:1\"\npolicies:\n  - path: /x\n",
	              "5:5: missing required key \"origins\" in policy \"policy-1\"\n"
	              "3:1: missing required key \"upstream\"\n");
	expect_errors("upstream: http://a.example\n", "1:1: missing required key \"policies\"\n");
	expect_errors("", "0:0: the file is empty (upstream and policies are required)\n");
	expect_errors("- a\n", "1:1: policy file: expected a mapping of keys such as upstream and "
	                       "policies, got a list\n");
}
END_TEST

START_TEST(err_duplicate_key)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "    credentials: false\n"
	                   "    credentials: true\n"
	                   "upstream: http://b.example\n",
	              "5:5: duplicate key \"credentials\" (first at line 4)\n"
	              "6:1: duplicate key \"upstream\" (first at line 1)\n");
}
END_TEST

START_TEST(err_yaml_syntax)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "   path: /x\n",
	              "4:4: YAML syntax error: did not find expected '-' indicator while parsing a "
	              "block collection (started at line 3, column 3)\n");
	expect_errors("upstream: \"http://a\n",
	              "2:1: YAML syntax error: found unexpected end of stream while scanning a "
	              "quoted scalar (started at line 1, column 11)\n");
	expect_errors("upstream: \"\xff\"\n", "1:12: invalid input: invalid leading UTF-8 octet\n");
	expect_errors(HEAD "  - origins: [\"*\"]\n---\nx: 1\n",
	              "5:1: only one YAML document is allowed in a policy file\n");
}
END_TEST

START_TEST(err_misc_policy_fields)
{
	expect_errors(
	    HEAD "  - origins: [\"*\"]\n"
	         "    path: \"/a b\"\n"
	         "    host: \"a..b/c\"\n"
	         "    name: \"\"\n"
	         "    deny: drop\n"
	         "    <<: {}\n"
	         "    max_age: 99999999999\n",
	    "6:11: name: must be 1-128 characters without control characters\n"
	    "4:11: path: \"/a b\" must not contain '?', '#', spaces or control characters\n"
	    "5:11: host: invalid host name \"a..b/c\"\n"
	    "7:11: deny: expected reject or omit, got \"drop\"\n"
	    "8:5: unknown key \"<<\" in a policy (YAML merge keys are not supported)\n"
	    "9:14: max_age: must be at most 2147483647\n");
	/* The third policy clashes only with ones whose host was rejected: no
	 * second, cascading error about host + path. */
	expect_errors(
	    HEAD "  - origins: [\"*\"]\n"
	         "    host: \"api.example.com:443\"\n"
	         "  - origins: [\"*\"]\n"
	         "    host: \"[::1]:443\"\n"
	         "  - origins: [\"*\"]\n"
	         "    path: /\n",
	    "4:11: host: \"api.example.com:443\" must not contain a port (the port of the "
	    "Host header is ignored when matching)\n"
	    "6:11: host: \"[::1]:443\" must not contain a port (the port of the Host header "
	    "is ignored when matching)\n");
}
END_TEST

START_TEST(err_limits_and_workers)
{
	expect_errors(HEAD "  - origins: [\"*\"]\n"
	                   "limits:\n"
	                   "  max_body_bytes: 0\n"
	                   "  max_header_bytes: 99999999999999999999999\n"
	                   "  max_connections: 1.5\n"
	                   "workers: 0\n",
	              "5:19: limits.max_body_bytes: must be between 1 and 1073741824\n"
	              "6:21: limits.max_header_bytes: must be between 64 and 1048576\n"
	              "7:20: limits.max_connections: expected an integer, got \"1.5\"\n"
	              "8:10: workers: must be between 1 and 256, or \"auto\"\n");
}
END_TEST

START_TEST(five_errors_file)
{
	const char *file = CORSD_TEST_DATA "/config/five-errors.yaml";
	char *e = origin_err("https://app.example.com/");
	char want[2048];
	struct diag_list d;
	struct policy *p;
	char *got;

	diag_init(&d, file);
	p = config_load_file(file, &d);
	ck_assert_ptr_null(p);
	ck_assert_uint_eq(d.errors, 5);
	ck_assert_uint_eq(d.warnings, 0);
	got = render(&d);
	snprintf(want, sizeof(want),
	         "3:11: upstream: https upstreams are not supported; use http:// (terminate TLS "
	         "in front of the upstream)\n"
	         "5:12: timeouts.connect: invalid duration \"5x\" (expected a number > 0 with an "
	         "optional unit: ms, s, m or h, as in 250ms, 5s, 2m)\n"
	         "9:15: origins: \"https://app.example.com/\": %s\n"
	         "10:5: unknown key \"credential\" in a policy (did you mean \"credentials\"?)\n"
	         "13:14: max_age must be >= 0\n",
	         e);
	ck_assert_str_eq(got, want);
	free(got);
	free(e);
	diag_free(&d);
}
END_TEST

START_TEST(missing_file)
{
	struct diag_list d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	diag_init(&d, "/nonexistent/corsd.yaml");
	ck_assert_ptr_null(config_load_file("/nonexistent/corsd.yaml", &d));
	ck_assert_uint_eq(d.errors, 1);
	ck_assert_int_eq(d.v[0].line, 0);
	f = open_memstream(&buf, &len);
	diag_print(&d, f);
	fclose(f);
	/* No ":0:0" when there is no position. */
	ck_assert_str_eq(buf, "/nonexistent/corsd.yaml: cannot open: No such file or directory\n");
	free(buf);
	diag_free(&d);
}
END_TEST

START_TEST(diag_print_format)
{
	struct diag_list d;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	diag_init(&d, "x.yaml");
	diag_error(&d, 3, 7, "bad %s", "thing");
	diag_warn(&d, 4, 1, "odd");
	diag_error(&d, 0, 0, "no position");
	ck_assert_uint_eq(d.errors, 2);
	ck_assert_uint_eq(d.warnings, 1);
	f = open_memstream(&buf, &len);
	diag_print(&d, f);
	fclose(f);
	ck_assert_str_eq(buf, "x.yaml:3:7: bad thing\n"
	                      "x.yaml:4:1: warning: odd\n"
	                      "x.yaml: no position\n");
	free(buf);
	diag_free(&d);
}
END_TEST

START_TEST(duration_table)
{
	static const struct {
		const char *s;
		int rc;
		unsigned ms;
	} t[] = {
	    {"250ms", 0, 250},
	    {"5s", 0, 5000},
	    {"2m", 0, 120000},
	    {"1h", 0, 3600000},
	    {"30", 0, 30000},
	    {"1ms", 0, 1},
	    {"4294967295ms", 0, 4294967295u},
	    {"4294967s", 0, 4294967000u},
	    {"0", -1, 0},
	    {"0ms", -1, 0},
	    {"0s", -1, 0},
	    {"5x", -1, 0},
	    {"", -1, 0},
	    {"-1s", -1, 0},
	    {"+1s", -1, 0},
	    {" 5s", -1, 0},
	    {"5 s", -1, 0},
	    {"5s ", -1, 0},
	    {"1.5s", -1, 0},
	    {"s", -1, 0},
	    {"5S", -1, 0},
	    {"5sec", -1, 0},
	    {"4294967296ms", -1, 0},
	    {"4294968s", -1, 0},
	    {"1194h", -1, 0},
	    {"99999999999999999999999999s", -1, 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		unsigned ms = 12345;

		ck_assert_msg(config_parse_duration(t[i].s, &ms) == t[i].rc, "\"%s\"", t[i].s);
		if (t[i].rc == 0)
			ck_assert_msg(ms == t[i].ms, "\"%s\" gave %u", t[i].s, ms);
		else
			ck_assert_msg(ms == 12345, "\"%s\" wrote the output", t[i].s);
	}
	ck_assert_int_eq(config_parse_duration(NULL, NULL), -1);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *ok = tcase_create("valid");
	TCase *err = tcase_create("errors");
	TCase *misc = tcase_create("misc");

	tcase_add_test(ok, full_file);
	tcase_add_test(ok, defaults);
	tcase_add_test(ok, shipped_example_is_clean);
	tcase_add_test(ok, vary_and_values);
	tcase_add_test(ok, quoting_and_booleans);
	tcase_add_test(ok, upstream_forms);
	tcase_add_test(ok, listen_forms);
	tcase_add_test(ok, workers_auto);
	tcase_add_test(ok, warnings_do_not_fail);
	suite_add_tcase(s, ok);

	tcase_add_test(err, err_unknown_key_top);
	tcase_add_test(err, err_unknown_key_policy);
	tcase_add_test(err, err_wrong_types);
	tcase_add_test(err, err_bad_duration);
	tcase_add_test(err, err_bad_upstream);
	tcase_add_test(err, err_https_upstream);
	tcase_add_test(err, err_bad_listen);
	tcase_add_test(err, err_admin_without_listen);
	tcase_add_test(err, err_malformed_origin);
	tcase_add_test(err, err_bad_regex);
	tcase_add_test(err, err_bad_method);
	tcase_add_test(err, err_bad_header);
	tcase_add_test(err, err_credentials_any_origin);
	tcase_add_test(err, err_credentials_any_header);
	tcase_add_test(err, err_credentials_any_expose);
	tcase_add_test(err, err_duplicate_host_path);
	tcase_add_test(err, err_max_age_negative);
	tcase_add_test(err, err_empty_policies);
	tcase_add_test(err, err_missing_required);
	tcase_add_test(err, err_duplicate_key);
	tcase_add_test(err, err_yaml_syntax);
	tcase_add_test(err, err_misc_policy_fields);
	tcase_add_test(err, err_limits_and_workers);
	tcase_add_test(err, five_errors_file);
	suite_add_tcase(s, err);

	tcase_add_test(misc, missing_file);
	tcase_add_test(misc, diag_print_format);
	tcase_add_test(misc, duration_table);
	suite_add_tcase(s, misc);
	return s;
}

int main(void)
{
	return unit_run(config_suite());
}
