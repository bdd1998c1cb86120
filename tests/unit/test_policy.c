/*
 * Unit tests for policy matching and lifetime. Policies are built by hand so
 * these tests do not depend on the loader.
 */
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "unit.h"

static struct policy *mk(void)
{
	struct policy *p = policy_new("test.yaml");

	ck_assert_ptr_nonnull(p);
	p->rules = calloc(16, sizeof(*p->rules));
	ck_assert_ptr_nonnull(p->rules);
	return p;
}

static void add(struct policy *p, const char *name, const char *host, const char *path)
{
	struct policy_rule *r = &p->rules[p->nrules++];

	ck_assert_uint_le(p->nrules, 16);
	r->name = strdup(name);
	r->host = host ? strdup(host) : NULL;
	r->path = strdup(path);
	r->path_len = strlen(path);
	r->max_age = -1;
}

/* The matched rule's name, or "-" for none. */
static const char *match(const struct policy *p, const char *host, const char *path)
{
	const struct policy_rule *r = policy_match(p, str_c(host), str_c(path));

	return r ? r->name : "-";
}

START_TEST(path_matches_table)
{
	static const struct {
		const char *prefix, *path;
		bool want;
	} t[] = {
	    {"/api", "/api", true},
	    {"/api", "/api/x", true},
	    {"/api", "/api/", true},
	    {"/api", "/apix", false},
	    {"/api", "/ap", false},
	    {"/api", "/API", false},
	    {"/api", "/", false},
	    {"/api", "", false},
	    {"/", "/", true},
	    {"/", "/x", true},
	    {"/", "/api/x/y", true},
	    {"/", "", false},
	    {"/", "*", false},
	    {"/public/", "/public/x", true},
	    {"/public/", "/public/", true},
	    {"/public/", "/public", false},
	    {"/public/", "/publicx", false},
	    {"/a/b", "/a/b/c", true},
	    {"/a/b", "/a/bc", false},
	    {"/a/b", "/a", false},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(policy_path_matches(str_c(t[i].prefix), str_c(t[i].path)) ==
		                  t[i].want,
		              "%s vs %s", t[i].prefix, t[i].path);
	ck_assert(!policy_path_matches(str_c("/"), STR_NULL));
	/* A view that is not NUL-terminated: only n bytes count. */
	ck_assert(policy_path_matches((struct str){"/apix", 4}, str_c("/api/x")));
	ck_assert(policy_path_matches(str_c("/api"), (struct str){"/apix", 4}));
}
END_TEST

START_TEST(match_longest_prefix)
{
	struct policy *p = mk();

	add(p, "root", NULL, "/");
	add(p, "api", NULL, "/api");
	add(p, "api-v1", NULL, "/api/v1/");
	add(p, "public", NULL, "/public/");
	ck_assert_str_eq(match(p, "a.example", "/"), "root");
	ck_assert_str_eq(match(p, "a.example", "/other"), "root");
	ck_assert_str_eq(match(p, "a.example", "/api"), "api");
	ck_assert_str_eq(match(p, "a.example", "/api/v1"), "api");
	ck_assert_str_eq(match(p, "a.example", "/api/v1/users"), "api-v1");
	ck_assert_str_eq(match(p, "a.example", "/apix"), "root");
	ck_assert_str_eq(match(p, "a.example", "/public"), "root");
	ck_assert_str_eq(match(p, "a.example", "/public/x"), "public");
	/* The query never takes part in matching. */
	ck_assert_str_eq(match(p, "a.example", "/api/v1/?x=/"), "api-v1");
	ck_assert_str_eq(match(p, "a.example", "/public?/x"), "root");
	policy_unref(p);
}
END_TEST

START_TEST(match_order_and_none)
{
	struct policy *p = mk();

	add(p, "first", NULL, "/api");
	add(p, "second", NULL, "/api");
	add(p, "other", NULL, "/other/");
	ck_assert_str_eq(match(p, "a.example", "/api/x"), "first");
	ck_assert_str_eq(match(p, "a.example", "/"), "-");
	ck_assert_str_eq(match(p, "a.example", "/apix"), "-");
	ck_assert_str_eq(match(p, "a.example", "/other"), "-");
	ck_assert_str_eq(match(p, "a.example", "*"), "-");
	ck_assert_ptr_null(policy_match(p, str_c("a.example"), STR_NULL));
	ck_assert_ptr_null(policy_match(NULL, str_c("a.example"), str_c("/api")));
	policy_unref(p);

	p = mk();
	ck_assert_ptr_null(policy_match(p, str_c("a.example"), str_c("/")));
	policy_unref(p);
}
END_TEST

START_TEST(match_hosts)
{
	struct policy *p = mk();

	add(p, "any", NULL, "/");
	add(p, "api", "api.example.com", "/");
	add(p, "v6", "[::1]", "/");
	add(p, "api-long", "api.example.com", "/v2/");
	add(p, "other-long", "other.example", "/v2/x");
	ck_assert_str_eq(match(p, "api.example.com", "/x"), "api");
	/* Port ignored, case ignored. */
	ck_assert_str_eq(match(p, "api.example.com:8080", "/x"), "api");
	ck_assert_str_eq(match(p, "API.Example.COM", "/x"), "api");
	ck_assert_str_eq(match(p, "Api.Example.Com:443", "/x"), "api");
	ck_assert_str_eq(match(p, "[::1]:8080", "/x"), "v6");
	ck_assert_str_eq(match(p, "[::1]", "/x"), "v6");
	/* Not a suffix or prefix match on the host. */
	ck_assert_str_eq(match(p, "evil-api.example.com", "/x"), "any");
	ck_assert_str_eq(match(p, "api.example.com.evil", "/x"), "any");
	ck_assert_str_eq(match(p, "api.example.co", "/x"), "any");
	ck_assert_str_eq(match(p, "api.example.com:", "/x"), "api");
	ck_assert_str_eq(match(p, "::1", "/x"), "any");
	/* No Host at all: only host-less rules. */
	ck_assert_str_eq(match(p, NULL, "/x"), "any");
	ck_assert_str_eq(match(p, "", "/x"), "any");
	/* A host rule's longer path wins; another host's rule never applies. */
	ck_assert_str_eq(match(p, "api.example.com", "/v2/x"), "api-long");
	ck_assert_str_eq(match(p, "other.example", "/v2/x"), "other-long");
	ck_assert_str_eq(match(p, "third.example", "/v2/x"), "any");
	policy_unref(p);
}
END_TEST

START_TEST(match_host_beats_hostless_on_tie)
{
	struct policy *p = mk();

	add(p, "any-api", NULL, "/api");
	add(p, "any-long", NULL, "/api/v1");
	add(p, "host-api", "a.example", "/api");
	add(p, "host-api-2", "a.example", "/api/");
	ck_assert_str_eq(match(p, "a.example", "/api"), "host-api");
	ck_assert_str_eq(match(p, "a.example:1", "/api/x"), "host-api-2");
	/* A longer host-less path still beats a shorter host one. */
	ck_assert_str_eq(match(p, "a.example", "/api/v1/x"), "any-long");
	ck_assert_str_eq(match(p, "b.example", "/api"), "any-api");
	policy_unref(p);
}
END_TEST

START_TEST(defaults_of_new)
{
	struct policy *p = policy_new("x.yaml");

	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(atomic_load(&p->refs), 1);
	ck_assert_str_eq(p->file, "x.yaml");
	ck_assert_uint_eq(p->nlisten, 1);
	ck_assert_str_eq(p->listen[0].text, "127.0.0.1:8080");
	ck_assert_str_eq(p->listen[0].host, "127.0.0.1");
	ck_assert_uint_eq(p->listen[0].port, 8080);
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
	ck_assert_uint_eq(p->nrules, 0);
	ck_assert_ptr_null(p->upstream.text);
	policy_unref(p);
}
END_TEST

START_TEST(refcount)
{
	struct policy *p = policy_new("x.yaml");

	ck_assert_ptr_eq(policy_ref(p), p);
	ck_assert_int_eq(atomic_load(&p->refs), 2);
	policy_unref(p);
	ck_assert_int_eq(atomic_load(&p->refs), 1);
	/* Still usable: the first reference is alive. */
	ck_assert_str_eq(p->file, "x.yaml");
	policy_unref(p); /* frees; ASan and valgrind catch a leak or a double free */
	policy_unref(NULL);
	ck_assert_ptr_null(policy_ref(NULL));
}
END_TEST

static void *ref_unref_loop(void *arg)
{
	struct policy *p = arg;

	for (int i = 0; i < 100000; i++) {
		policy_ref(p);
		policy_unref(p);
	}
	return NULL;
}

START_TEST(refcount_threads)
{
	struct policy *p = policy_new("x.yaml");
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, ref_unref_loop, p), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_int_eq(atomic_load(&p->refs), 1);
	policy_unref(p);
}
END_TEST

START_TEST(unref_frees_everything)
{
	/* Every owned field set; the leak checkers verify policy_unref frees them. */
	struct policy *p = mk();
	struct policy_rule *r;
	char err[128];

	p->upstream.text = strdup("http://a:1");
	p->upstream.host = strdup("a");
	p->upstream.base_path = strdup("");
	p->upstream.hostport = strdup("a:1");
	p->has_admin = true;
	p->admin.text = strdup("127.0.0.1:9901");
	p->admin.host = strdup("127.0.0.1");
	add(p, "r", "h.example", "/x");
	r = &p->rules[0];
	r->upstream = calloc(1, sizeof(*r->upstream));
	r->upstream->text = strdup("http://b:2/p");
	r->upstream->host = strdup("b");
	r->upstream->base_path = strdup("/p");
	r->upstream->hostport = strdup("b:2");
	r->origins = calloc(2, sizeof(*r->origins));
	ck_assert_int_eq(
	    origin_rule_parse("~^https://a\\.example$", &r->origins[0], err, sizeof(err)), 0);
	ck_assert_int_eq(
	    origin_rule_parse("https://*.example.com", &r->origins[1], err, sizeof(err)), 0);
	r->norigins = 2;
	r->methods = calloc(1, sizeof(char *));
	r->methods[0] = strdup("GET");
	r->nmethods = 1;
	r->headers = calloc(1, sizeof(char *));
	r->headers[0] = strdup("X-A");
	r->nheaders = 1;
	r->expose = calloc(1, sizeof(char *));
	r->expose[0] = strdup("X-B");
	r->nexpose = 1;
	r->allow_methods_value = strdup("GET");
	r->expose_value = strdup("X-B");
	r->max_age_value = strdup("5");

	policy_upstream_free(r->upstream);
	ck_assert_ptr_null(r->upstream->text);
	ck_assert_ptr_null(r->upstream->hostport);
	r->upstream->text = strdup("http://b:2/p");
	policy_unref(p);
}
END_TEST

static Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *m = tcase_create("match");
	TCase *life = tcase_create("lifetime");

	tcase_add_test(m, path_matches_table);
	tcase_add_test(m, match_longest_prefix);
	tcase_add_test(m, match_order_and_none);
	tcase_add_test(m, match_hosts);
	tcase_add_test(m, match_host_beats_hostless_on_tie);
	suite_add_tcase(s, m);

	tcase_add_test(life, defaults_of_new);
	tcase_add_test(life, refcount);
	tcase_add_test(life, refcount_threads);
	tcase_add_test(life, unref_frees_everything);
	suite_add_tcase(s, life);
	return s;
}

int main(void)
{
	return unit_run(policy_suite());
}
