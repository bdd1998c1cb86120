/*
 * policy: construction defaults, reference counting, teardown and request
 * matching for the immutable policy that config.c builds.
 */
#include "policy.h"

#include <stdlib.h>
#include <string.h>

#define POLICY_DEFAULT_LISTEN_HOST "127.0.0.1"
#define POLICY_DEFAULT_LISTEN_PORT 8080

struct policy *policy_new(const char *file)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	p->file = strdup(file ? file : "");
	p->listen = calloc(1, sizeof(*p->listen));
	if (!p->file || !p->listen)
		goto fail;
	p->nlisten = 1;
	p->listen[0].text = strdup(POLICY_DEFAULT_LISTEN_HOST ":8080");
	p->listen[0].host = strdup(POLICY_DEFAULT_LISTEN_HOST);
	p->listen[0].port = POLICY_DEFAULT_LISTEN_PORT;
	if (!p->listen[0].text || !p->listen[0].host)
		goto fail;

	p->workers = 1;
	p->connect_ms = 5000;
	p->upstream_ms = 60000;
	p->client_ms = 60000;
	p->shutdown_ms = 10000;
	p->max_header_bytes = 16384;
	p->max_body_bytes = 10485760;
	p->max_connections = 4096;
	p->forwarded = true;
	p->log_level = POLICY_LOG_INFO;
	p->log_format = POLICY_LOG_TEXT;
	p->log_access = true;
	return p;
fail:
	policy_unref(p);
	return NULL;
}

struct policy *policy_ref(struct policy *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

/* Frees the fields of u, not u itself: the default upstream is embedded in
 * struct policy while a rule's override is a separate allocation. */
void policy_upstream_free(struct policy_upstream *u)
{
	if (!u)
		return;
	free(u->text);
	free(u->host);
	free(u->base_path);
	free(u->hostport);
	memset(u, 0, sizeof(*u));
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void rule_free(struct policy_rule *r)
{
	free(r->name);
	free(r->path);
	free(r->host);
	if (r->upstream) {
		policy_upstream_free(r->upstream);
		free(r->upstream);
	}
	for (size_t i = 0; i < r->norigins; i++)
		origin_rule_free(&r->origins[i]);
	free(r->origins);
	free_strv(r->methods, r->nmethods);
	free_strv(r->headers, r->nheaders);
	free_strv(r->expose, r->nexpose);
	free(r->allow_methods_value);
	free(r->expose_value);
	free(r->max_age_value);
}

static void addr_free(struct policy_addr *a)
{
	free(a->text);
	free(a->host);
}

void policy_unref(struct policy *p)
{
	if (!p)
		return;
	/* acq_rel: the thread that frees must see every write made before the
	 * other threads dropped their references. */
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < p->nlisten; i++)
		addr_free(&p->listen[i]);
	free(p->listen);
	policy_upstream_free(&p->upstream);
	addr_free(&p->admin);
	for (size_t i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	free(p->file);
	free(p);
}

bool policy_path_matches(struct str prefix, struct str path)
{
	if (!prefix.p || !path.p || prefix.n == 0)
		return false;
	if (!str_starts_with(path, prefix))
		return false;
	return path.n == prefix.n || prefix.p[prefix.n - 1] == '/' || path.p[prefix.n] == '/';
}

/* The Host header without its port: "a.example:8080" -> "a.example",
 * "[::1]:8080" -> "[::1]". A malformed value is returned whole; it then simply
 * matches no host-specific rule. */
static struct str host_without_port(struct str h)
{
	if (h.n > 0 && h.p[0] == '[') {
		const char *end = memchr(h.p, ']', h.n);

		if (end)
			h.n = (size_t)(end - h.p) + 1;
		return h;
	}
	const char *colon = memchr(h.p, ':', h.n);

	if (colon && !memchr(colon + 1, ':', h.n - (size_t)(colon + 1 - h.p)))
		h.n = (size_t)(colon - h.p);
	return h;
}

const struct policy_rule *policy_match(const struct policy *p, struct str host, struct str path)
{
	const struct policy_rule *best = NULL;
	struct str h = STR_NULL;

	if (!p || !path.p)
		return NULL;
	/* Callers pass the path without its query; cut defensively all the same. */
	const char *q = memchr(path.p, '?', path.n);

	if (q)
		path.n = (size_t)(q - path.p);
	if (host.p)
		h = host_without_port(host);

	for (size_t i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];

		if (r->host && (!h.p || !str_eq_ci(h, str_c(r->host))))
			continue;
		if (!policy_path_matches((struct str){r->path, r->path_len}, path))
			continue;
		/* Longest prefix wins; on a tie a rule naming the Host beats one
		 * that does not, then the earlier rule wins (strict comparisons). */
		if (!best || r->path_len > best->path_len ||
		    (r->path_len == best->path_len && r->host && !best->host))
			best = r;
	}
	return best;
}
