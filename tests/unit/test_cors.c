/*
 * The CORS decision as a table: one row per SPEC sentence. Each row is a
 * request (facts) against a policy file and the exact answer expected: the
 * kind, verdict, reason, local status, and every CORS header and Vary token.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cors.h"
#include "unit.h"

static const char POLICY[] =
    "upstream: http://127.0.0.1:9000\n"
    "policies:\n"
    "  - name: app\n"
    "    path: /api\n"
    "    origins: [\"https://app.example.com\", \"https://*.example.org:*\", \"null\",\n"
    "              \"~^https://(a|b)\\\\.example\\\\.net$\"]\n"
    "    methods: [GET, PUT, DELETE]\n"
    "    headers: [Content-Type, X-Request-ID]\n"
    "    expose_headers: [X-Request-ID]\n"
    "    credentials: true\n"
    "    max_age: 600\n"
    "    private_network: true\n"
    "  - name: public\n"
    "    path: /public\n"
    "    origins: [\"*\"]\n"
    "    headers: [\"*\"]\n"
    "    expose_headers: [X-Total]\n"
    "  - name: omit\n"
    "    path: /omit\n"
    "    origins: [\"https://app.example.com\"]\n"
    "    deny: omit\n"
    "  - name: enforce\n"
    "    path: /enforce\n"
    "    origins: [\"https://app.example.com\"]\n"
    "    enforce: true\n"
    "  - name: report\n"
    "    path: /report\n"
    "    origins: [\"https://app.example.com\"]\n"
    "    report_only: true\n"
    "    enforce: true\n"
    "  - name: forward\n"
    "    path: /forward\n"
    "    origins: [\"https://app.example.com\"]\n"
    "    preflight: forward\n"
    "  - name: vhost\n"
    "    host: api.example.com\n"
    "    path: /api\n"
    "    origins: [\"https://other.example.com\"]\n";

struct row {
	const char *name;
	const char *method, *path, *host, *origin, *acrm, *acrh;
	bool acrpn;
	const char *policy; /* expected rule name, NULL = none */
	enum cors_kind kind;
	enum cors_verdict verdict;
	enum cors_reason reason;
	int status;          /* 0 = proxied */
	const char *headers; /* "Name: value\n" each, in order */
	const char *vary;    /* tokens joined by ", " */
	bool report_only;
};

#define ACAO "Access-Control-Allow-Origin: "
#define ACAC "Access-Control-Allow-Credentials: true\n"
#define PF_VARY "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
#define PF_VARY_PN PF_VARY ", Access-Control-Request-Private-Network"

static const struct row rows[] = {
    {"preflight allowed, exact origin", "OPTIONS", "/api/x", "h", "https://app.example.com", "PUT",
     "content-type, x-request-id", false, "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_ALLOW,
     CORS_REASON_ORIGIN, 204,
     ACAO "https://app.example.com\n" ACAC "Access-Control-Allow-Methods: GET, PUT, DELETE\n"
          "Access-Control-Allow-Headers: content-type, x-request-id\n"
          "Access-Control-Max-Age: 600\n",
     PF_VARY_PN, false},
    {"preflight echoes the origin bytes, matched normalised", "OPTIONS", "/api", "h",
     "HTTPS://App.Example.com:443", "GET", NULL, false, "app", CORS_KIND_PREFLIGHT,
     CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 204,
     ACAO "HTTPS://App.Example.com:443\n" ACAC "Access-Control-Allow-Methods: GET, PUT, DELETE\n"
          "Access-Control-Max-Age: 600\n",
     PF_VARY_PN, false},
    {"private network asked and allowed", "OPTIONS", "/api", "h", "https://app.example.com", "GET",
     NULL, true, "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 204,
     ACAO "https://app.example.com\n" ACAC "Access-Control-Allow-Methods: GET, PUT, DELETE\n"
          "Access-Control-Max-Age: 600\n"
          "Access-Control-Allow-Private-Network: true\n",
     PF_VARY_PN, false},
    {"wildcard with any port", "OPTIONS", "/api", "h", "https://a.b.example.org:8443", "GET", NULL,
     false, "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 204,
     ACAO "https://a.b.example.org:8443\n" ACAC "Access-Control-Allow-Methods: GET, PUT, DELETE\n"
          "Access-Control-Max-Age: 600\n",
     PF_VARY_PN, false},
    {"regex entry", "OPTIONS", "/api", "h", "https://b.example.net", "GET", NULL, false, "app",
     CORS_KIND_PREFLIGHT, CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 204,
     ACAO "https://b.example.net\n" ACAC "Access-Control-Allow-Methods: GET, PUT, DELETE\n"
          "Access-Control-Max-Age: 600\n",
     PF_VARY_PN, false},
    {"null listed by name", "OPTIONS", "/api", "h", "null", "GET", NULL, false, "app",
     CORS_KIND_PREFLIGHT, CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 204,
     ACAO "null\n" ACAC "Access-Control-Allow-Methods: GET, PUT, DELETE\n"
          "Access-Control-Max-Age: 600\n",
     PF_VARY_PN, false},
    {"origin with evil suffix denied", "OPTIONS", "/api", "h", "https://app.example.com.evil.net",
     "GET", NULL, false, "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY, CORS_REASON_ORIGIN, 403, "",
     PF_VARY_PN, false},
    {"http downgrade denied", "OPTIONS", "/api", "h", "http://app.example.com", "GET", NULL, false,
     "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY, CORS_REASON_ORIGIN, 403, "", PF_VARY_PN, false},
    {"origin with a path is invalid", "OPTIONS", "/api", "h", "https://app.example.com/", "GET",
     NULL, false, "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY, CORS_REASON_ORIGIN_INVALID, 403,
     "", PF_VARY_PN, false},
    {"method compares case-sensitively", "OPTIONS", "/api", "h", "https://app.example.com", "put",
     NULL, false, "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY, CORS_REASON_METHOD, 403, "",
     PF_VARY_PN, false},
    {"safelisted method needs no listing", "OPTIONS", "/omit", "h", "https://app.example.com",
     "POST", NULL, false, "omit", CORS_KIND_PREFLIGHT, CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 204,
     ACAO "https://app.example.com\nAccess-Control-Allow-Methods: GET, HEAD, POST\n", PF_VARY,
     false},
    {"header not listed", "OPTIONS", "/api", "h", "https://app.example.com", "GET",
     "Content-Type, X-Evil", false, "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY,
     CORS_REASON_HEADER, 403, "", PF_VARY_PN, false},
    {"invalid header name", "OPTIONS", "/api", "h", "https://app.example.com", "GET", "x y", false,
     "app", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY, CORS_REASON_HEADER_INVALID, 403, "", PF_VARY_PN,
     false},
    {"star headers still name Authorization", "OPTIONS", "/public", "h", "https://x.test", "GET",
     "authorization,x-anything", false, "public", CORS_KIND_PREFLIGHT, CORS_VERDICT_ALLOW,
     CORS_REASON_ORIGIN, 204,
     ACAO "*\nAccess-Control-Allow-Methods: GET, HEAD, POST\n"
          "Access-Control-Allow-Headers: authorization, x-anything\n",
     PF_VARY, false},
    {"star allows an invalid origin without reflecting it", "OPTIONS", "/public", "h",
     "https://u@x.test", "GET", NULL, false, "public", CORS_KIND_PREFLIGHT, CORS_VERDICT_ALLOW,
     CORS_REASON_ORIGIN, 204, ACAO "*\nAccess-Control-Allow-Methods: GET, HEAD, POST\n", PF_VARY,
     false},
    {"deny omit answers 204 bare", "OPTIONS", "/omit", "h", "https://evil.test", "GET", NULL, false,
     "omit", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY, CORS_REASON_ORIGIN, 204, "", PF_VARY, false},
    {"report_only answers as allowed", "OPTIONS", "/report", "h", "https://evil.test", "GET", NULL,
     false, "report", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY, CORS_REASON_ORIGIN, 204,
     ACAO "https://evil.test\nAccess-Control-Allow-Methods: GET, HEAD, POST\n", PF_VARY, true},
    /* As if allowed means the browser proceeds: a denied origin's headers are
     * still echoed, and a method missing from the list is named. */
    {"report_only echoes the headers a denied origin asked for", "OPTIONS", "/report", "h",
     "https://evil.test", "GET", "X-Custom, content-type", false, "report", CORS_KIND_PREFLIGHT,
     CORS_VERDICT_DENY, CORS_REASON_ORIGIN, 204,
     ACAO "https://evil.test\nAccess-Control-Allow-Methods: GET, HEAD, POST\n"
          "Access-Control-Allow-Headers: X-Custom, content-type\n",
     PF_VARY, true},
    {"report_only names a method missing from the list", "OPTIONS", "/report", "h",
     "https://app.example.com", "PATCH", "x-a", false, "report", CORS_KIND_PREFLIGHT,
     CORS_VERDICT_DENY, CORS_REASON_METHOD, 204,
     ACAO "https://app.example.com\nAccess-Control-Allow-Methods: GET, HEAD, POST, PATCH\n"
          "Access-Control-Allow-Headers: x-a\n",
     PF_VARY, true},
    {"report_only cannot answer an invalid origin as allowed", "OPTIONS", "/report", "h",
     "https://a.test/path", "GET", NULL, false, "report", CORS_KIND_PREFLIGHT, CORS_VERDICT_DENY,
     CORS_REASON_ORIGIN_INVALID, 403, "", PF_VARY, false},
    {"report_only echoes a header not allowed", "OPTIONS", "/report", "h",
     "https://app.example.com", "GET", "x-a, x-b", false, "report", CORS_KIND_PREFLIGHT,
     CORS_VERDICT_DENY, CORS_REASON_HEADER, 204,
     ACAO "https://app.example.com\nAccess-Control-Allow-Methods: GET, HEAD, POST\n"
          "Access-Control-Allow-Headers: x-a, x-b\n",
     PF_VARY, true},
    {"preflight forward is proxied with corsd's headers", "OPTIONS", "/forward", "h",
     "https://app.example.com", "GET", NULL, false, "forward", CORS_KIND_PREFLIGHT,
     CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 0,
     ACAO "https://app.example.com\nAccess-Control-Allow-Methods: GET, HEAD, POST\n", PF_VARY,
     false},
    {"actual allowed", "GET", "/api/items", "h", "https://app.example.com", NULL, NULL, false,
     "app", CORS_KIND_ACTUAL, CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 0,
     ACAO "https://app.example.com\n" ACAC "Access-Control-Expose-Headers: X-Request-ID\n",
     "Origin", false},
    {"OPTIONS without ACRM is an actual request", "OPTIONS", "/api", "h", "https://app.example.com",
     NULL, NULL, false, "app", CORS_KIND_ACTUAL, CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 0,
     ACAO "https://app.example.com\n" ACAC "Access-Control-Expose-Headers: X-Request-ID\n",
     "Origin", false},
    {"actual denied is proxied bare", "GET", "/api", "h", "https://evil.test", NULL, NULL, false,
     "app", CORS_KIND_ACTUAL, CORS_VERDICT_DENY, CORS_REASON_ORIGIN, 0, "", "Origin", false},
    {"no origin still varies", "GET", "/api", "h", NULL, NULL, NULL, false, "app", CORS_KIND_PLAIN,
     CORS_VERDICT_NONE, CORS_REASON_NO_ORIGIN, 0, "", "Origin", false},
    {"star policy answers * with no Origin", "GET", "/public/x", "h", NULL, NULL, NULL, false,
     "public", CORS_KIND_PLAIN, CORS_VERDICT_NONE, CORS_REASON_NO_ORIGIN, 0,
     ACAO "*\nAccess-Control-Expose-Headers: X-Total\n", "", false},
    {"star policy actual", "POST", "/public", "h", "https://x.test", NULL, NULL, false, "public",
     CORS_KIND_ACTUAL, CORS_VERDICT_ALLOW, CORS_REASON_ORIGIN, 0,
     ACAO "*\nAccess-Control-Expose-Headers: X-Total\n", "", false},
    {"enforce refuses a denied origin", "GET", "/enforce", "h", "https://evil.test", NULL, NULL,
     false, "enforce", CORS_KIND_ACTUAL, CORS_VERDICT_DENY, CORS_REASON_ORIGIN, 403, "", "Origin",
     false},
    {"enforce exempts same-origin", "POST", "/enforce", "Api.Local:8080", "http://api.local:8080",
     NULL, NULL, false, "enforce", CORS_KIND_ACTUAL, CORS_VERDICT_NONE, CORS_REASON_SAME_ORIGIN, 0,
     "", "Origin", false},
    {"report_only overrides enforce", "GET", "/report", "h", "https://evil.test", NULL, NULL, false,
     "report", CORS_KIND_ACTUAL, CORS_VERDICT_DENY, CORS_REASON_ORIGIN, 0,
     ACAO "https://evil.test\n", "Origin", true},
    {"no policy matches", "GET", "/apix", "h", "https://app.example.com", NULL, NULL, false, NULL,
     CORS_KIND_ACTUAL, CORS_VERDICT_NONE, CORS_REASON_NO_POLICY, 0, "", "", false},
    {"host-specific policy wins", "GET", "/api", "API.example.com:8443",
     "https://other.example.com", NULL, NULL, false, "vhost", CORS_KIND_ACTUAL, CORS_VERDICT_ALLOW,
     CORS_REASON_ORIGIN, 0, ACAO "https://other.example.com\n", "Origin", false},
};

static struct policy *policy;

static void setup(void)
{
	policy = unit_policy("test.yaml", POLICY);
}

static void teardown(void)
{
	policy_unref(policy);
}

static void facts_from_row(struct cors_facts *f, const struct row *r)
{
	cors_facts_init(f, str_c(r->method), str_c(r->path));
	if (r->host)
		cors_facts_add_header(f, STR_LIT("Host"), str_c(r->host));
	if (r->origin)
		cors_facts_add_header(f, STR_LIT("origin"), str_c(r->origin));
	if (r->acrm)
		cors_facts_add_header(f, STR_LIT("Access-Control-Request-Method"), str_c(r->acrm));
	if (r->acrh)
		cors_facts_add_header(f, STR_LIT("access-control-request-headers"), str_c(r->acrh));
	if (r->acrpn)
		cors_facts_add_header(f, STR_LIT("Access-Control-Request-Private-Network"),
		                      STR_LIT("true"));
}

START_TEST(test_table)
{
	const struct row *r = &rows[_i];
	static struct cors_facts f;
	static struct cors_decision d;
	char got[2048] = "", vary[512] = "";

	facts_from_row(&f, r);
	cors_decide(policy, &f, &d);
	for (size_t i = 0; i < d.nheaders; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s: %.*s\n",
		         d.headers[i].name, (int)d.headers[i].value.n, d.headers[i].value.p);
	for (size_t i = 0; i < d.nvary; i++)
		snprintf(vary + strlen(vary), sizeof(vary) - strlen(vary), "%s%s", i ? ", " : "",
		         d.vary[i]);
	ck_assert_msg(r->policy ? d.rule && strcmp(d.rule->name, r->policy) == 0 : d.rule == NULL,
	              "%s: policy %s", r->name, d.rule ? d.rule->name : "-");
	ck_assert_msg(d.kind == r->kind, "%s: kind %s", r->name, cors_kind_name(d.kind));
	ck_assert_msg(d.verdict == r->verdict, "%s: verdict %s", r->name,
	              cors_verdict_name(d.verdict));
	ck_assert_msg(d.reason == r->reason, "%s: reason %s", r->name, cors_reason_name(d.reason));
	ck_assert_msg(d.local_status == r->status, "%s: status %d", r->name, d.local_status);
	ck_assert_msg(d.report_only == r->report_only, "%s: report_only", r->name);
	ck_assert_msg(strcmp(got, r->headers) == 0, "%s: headers\n%s\nwanted\n%s", r->name, got,
	              r->headers);
	ck_assert_msg(strcmp(vary, r->vary) == 0, "%s: vary '%s'", r->name, vary);
	if (d.local_status == 403)
		ck_assert_msg(strstr(d.body, "denied by policy") != NULL, "%s: body", r->name);
	else
		ck_assert_str_eq(d.body, "");
	/* Every denial, answered or not, carries a hint for the log. */
	ck_assert_msg((d.verdict == CORS_VERDICT_DENY) == (d.hint[0] != '\0'), "%s: hint '%s'",
	              r->name, d.hint);
}
END_TEST

START_TEST(test_deny_body_names_the_rule)
{
	static struct cors_facts f;
	static struct cors_decision d;

	cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/api"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://app.example.com"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("PATCH"));
	cors_decide(policy, &f, &d);
	ck_assert_str_eq(d.body, "CORS preflight denied by policy app: method `PATCH` not allowed: "
	                         "not in methods [GET, PUT, DELETE]\n");
	ck_assert_str_eq(d.hint, "method `PATCH` not allowed: not in methods [GET, PUT, DELETE]");

	cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/api"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://app.example.com"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("GET"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Headers"),
	                      STR_LIT("x-request-id"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Headers"), STR_LIT(" X-Secret "));
	cors_decide(policy, &f, &d);
	ck_assert_int_eq(d.reason, CORS_REASON_HEADER);
	ck_assert_str_eq(d.body, "CORS preflight denied by policy app: header `X-Secret` not "
	                         "allowed: not in headers [Content-Type, X-Request-ID]\n");

	cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/api"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://evil.test"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("GET"));
	cors_decide(policy, &f, &d);
	ck_assert_str_eq(d.body, "CORS preflight denied by policy app: origin `https://evil.test` "
	                         "not allowed: none of the policy's 4 origin entries is close\n");

	cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/api"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("http://app.example.com"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("GET"));
	cors_decide(policy, &f, &d);
	ck_assert_str_eq(d.body, "CORS preflight denied by policy app: origin "
	                         "`http://app.example.com` not allowed: closest entry "
	                         "`https://app.example.com` differs in scheme (http vs https)\n");

	cors_facts_init(&f, STR_LIT("GET"), STR_LIT("/enforce"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://app.example.com:8443"));
	cors_decide(policy, &f, &d);
	ck_assert_int_eq(d.local_status, 403);
	ck_assert_str_eq(d.body, "CORS request denied by policy enforce: origin "
	                         "`https://app.example.com:8443` not allowed: closest entry "
	                         "`https://app.example.com` differs in port (8443 vs 443)\n");
}
END_TEST

/* The 403 body is one line of plain text whatever the request holds: an
 * invalid Origin is not echoed, and nothing is longer than body_buf. */
START_TEST(test_deny_body_is_one_safe_line)
{
	static const char *const origins[] = {
	    "https://app.example.com/\x01<script>",
	    "https://u@app.example.com",
	    "https://app.example.com, https://evil.test",
	    "\xff\xfe",
	};
	static struct cors_facts f;
	static struct cors_decision d;
	static char longest[600];

	for (size_t i = 0; i < sizeof(origins) / sizeof(origins[0]); i++) {
		cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/api"));
		cors_facts_add_header(&f, STR_LIT("Origin"), str_c(origins[i]));
		cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("GET"));
		cors_decide(policy, &f, &d);
		ck_assert_int_eq(d.reason, CORS_REASON_ORIGIN_INVALID);
		ck_assert_str_eq(d.body, "CORS preflight denied by policy app: origin not allowed: "
		                         "the Origin header is not one serialized origin "
		                         "(scheme://host[:port])\n");
	}

	/* The longest valid origin and the longest token still fit, cut. */
	memcpy(longest, "https://", 8);
	memset(longest + 8, 'a', 504);
	longest[512] = '\0';
	cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/api"));
	cors_facts_add_header(&f, STR_LIT("Origin"), str_c(longest));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("GET"));
	cors_decide(policy, &f, &d);
	ck_assert_int_eq(d.reason, CORS_REASON_ORIGIN);
	ck_assert_uint_lt(strlen(d.body), sizeof(d.body_buf));
	ck_assert_ptr_eq(strchr(d.body, '\n'), d.body + strlen(d.body) - 1);

	memset(longest, 'X', 599);
	longest[599] = '\0';
	cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/api"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://app.example.com"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("GET"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Headers"), str_c(longest));
	cors_decide(policy, &f, &d);
	ck_assert_int_eq(d.reason, CORS_REASON_HEADER);
	ck_assert_ptr_eq(strchr(d.body, '\n'), d.body + strlen(d.body) - 1);
	ck_assert_ptr_nonnull(strstr(d.body, "XXX...` not allowed"));
}
END_TEST

START_TEST(test_reset_is_empty)
{
	static struct cors_decision d;

	memset(&d, 0x5a, sizeof(d));
	cors_decision_reset(&d);
	ck_assert_ptr_null(d.rule);
	ck_assert_int_eq(d.kind, CORS_KIND_PLAIN);
	ck_assert_int_eq(d.verdict, CORS_VERDICT_NONE);
	ck_assert_str_eq(d.hint, "");
	ck_assert_str_eq(d.body, "");
	ck_assert_uint_eq(d.nheaders + d.nvary, 0);
}
END_TEST

START_TEST(test_two_origin_lines_are_invalid)
{
	static struct cors_facts f;
	static struct cors_decision d;

	cors_facts_init(&f, STR_LIT("GET"), STR_LIT("/api"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://app.example.com"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://app.example.com"));
	cors_decide(policy, &f, &d);
	ck_assert_int_eq(d.verdict, CORS_VERDICT_DENY);
	ck_assert_int_eq(d.reason, CORS_REASON_ORIGIN_INVALID);
	ck_assert_uint_eq(d.nheaders, 0);
}
END_TEST

START_TEST(test_too_many_headers)
{
	static struct cors_facts f;
	static struct cors_decision d;
	char list[2048] = "";

	for (int i = 0; i < 65; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%sx-h%d", i ? "," : "",
		         i);
	cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/public"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://x.test"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("GET"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Headers"), str_c(list));
	cors_decide(policy, &f, &d);
	ck_assert_int_eq(d.reason, CORS_REASON_TOO_MANY_HEADERS);
	ck_assert_int_eq(d.local_status, 403);
	ck_assert_ptr_nonnull(strstr(d.body, "too many headers"));
}
END_TEST

START_TEST(test_acrh_overflow_is_too_many)
{
	static struct cors_facts f;
	static struct cors_decision d;
	static char big[CORS_ACRH_BUF + 16];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cors_facts_init(&f, STR_LIT("OPTIONS"), STR_LIT("/public"));
	cors_facts_add_header(&f, STR_LIT("Origin"), STR_LIT("https://x.test"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Method"), STR_LIT("GET"));
	cors_facts_add_header(&f, STR_LIT("Access-Control-Request-Headers"), str_c(big));
	cors_decide(policy, &f, &d);
	ck_assert(f.acrh_overflow);
	ck_assert_int_eq(d.reason, CORS_REASON_TOO_MANY_HEADERS);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cors");
	TCase *tc = tcase_create("decision");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_table, 0, (int)(sizeof(rows) / sizeof(rows[0])));
	tcase_add_test(tc, test_deny_body_names_the_rule);
	tcase_add_test(tc, test_deny_body_is_one_safe_line);
	tcase_add_test(tc, test_reset_is_empty);
	tcase_add_test(tc, test_two_origin_lines_are_invalid);
	tcase_add_test(tc, test_too_many_headers);
	tcase_add_test(tc, test_acrh_overflow_is_too_many);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
