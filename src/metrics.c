/*
 * Counters with one writer each. A relaxed load + store compiles to a plain
 * add on the writer's side; readers on the admin thread see each counter
 * whole (never torn) and at worst a moment late, which is what a scrape
 * needs.
 */
#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

const double metrics_bucket_bounds[METRICS_BUCKETS] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
};

static const char *const kind_names[METRICS_NKIND] = {"preflight", "actual", "plain"};
static const char *const outcome_names[METRICS_NOUTCOME] = {"allowed", "denied", "none"};
static const char *const uerr_names[METRICS_NUERR] = {"connect", "connect_timeout", "timeout",
                                                      "protocol", "closed"};

static inline void bump(metrics_counter *c, uint64_t by)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
	                      memory_order_relaxed);
}

static inline uint64_t get(const metrics_counter *c)
{
	return atomic_load_explicit((metrics_counter *)c, memory_order_relaxed);
}

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->policies[METRICS_MAX_POLICIES].name, METRICS_NAME_MAX, "_other");
}

static struct metrics_policy *policy_slot(struct metrics *m, const void *key, const char *name)
{
	size_t n = atomic_load_explicit(&m->npolicies, memory_order_relaxed);
	struct metrics_policy *e;

	for (size_t i = 0; i < n; i++)
		if (m->policies[i].key == key)
			return &m->policies[i];
	/* A reload makes new rule objects: the same name keeps its counters. */
	for (size_t i = 0; i < n; i++) {
		if (strncmp(m->policies[i].name, name, METRICS_NAME_MAX - 1) == 0) {
			m->policies[i].key = key;
			return &m->policies[i];
		}
	}
	if (n == METRICS_MAX_POLICIES)
		return &m->policies[METRICS_MAX_POLICIES];
	e = &m->policies[n];
	e->key = key;
	snprintf(e->name, sizeof(e->name), "%s", name);
	atomic_store_explicit(&m->npolicies, n + 1, memory_order_release);
	return e;
}

void metrics_request(struct metrics *m, const void *key, const char *name, enum metrics_kind k,
                     enum metrics_outcome o, uint64_t duration_ns)
{
	uint64_t us = duration_ns / 1000;
	size_t b = 0;

	if (name == NULL)
		bump(&m->no_policy[k], 1);
	else
		bump(&policy_slot(m, key, name)->requests[k][o], 1);
	while (b < METRICS_BUCKETS && (double)duration_ns > metrics_bucket_bounds[b] * 1e9)
		b++;
	bump(&m->buckets[b], 1);
	bump(&m->duration_us_sum, us);
}

void metrics_upstream_status(struct metrics *m, int status)
{
	int c = status / 100;

	bump(&m->upstream_status[c >= 1 && c <= 5 ? c : 0], 1);
}

void metrics_upstream_error(struct metrics *m, enum metrics_upstream_error e)
{
	bump(&m->upstream_errors[e], 1);
}

void metrics_bad_request(struct metrics *m)
{
	bump(&m->bad_requests, 1);
}

/* ---- rendering ---- */

/* Label values are policy names from the file: escape as the format asks. */
static void out_label(struct sbuf *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sbuf_puts(o, "\\\\");
		else if (*s == '"')
			sbuf_puts(o, "\\\"");
		else if (*s == '\n')
			sbuf_puts(o, "\\n");
		else
			sbuf_put(o, s, 1);
	}
}

/* Sums one policy's counters over every worker, by name. */
static uint64_t sum_policy(const struct metrics *const *v, size_t n, const char *name, int k,
                           int oc)
{
	uint64_t t = 0;

	for (size_t w = 0; w < n; w++) {
		size_t np =
		    atomic_load_explicit((atomic_size_t *)&v[w]->npolicies, memory_order_acquire);
		for (size_t i = 0; i < np; i++)
			if (strcmp(v[w]->policies[i].name, name) == 0)
				t += get(&v[w]->policies[i].requests[k][oc]);
		if (strcmp(name, "_other") == 0)
			t += get(&v[w]->policies[METRICS_MAX_POLICIES].requests[k][oc]);
	}
	return t;
}

/* The distinct policy names seen by any worker, in first-seen order. */
static size_t policy_names(const struct metrics *const *v, size_t n, const char **names, size_t max)
{
	size_t count = 0;

	for (size_t w = 0; w < n; w++) {
		size_t np =
		    atomic_load_explicit((atomic_size_t *)&v[w]->npolicies, memory_order_acquire);
		for (size_t i = 0; i <= np; i++) {
			const struct metrics_policy *e =
			    i < np ? &v[w]->policies[i] : &v[w]->policies[METRICS_MAX_POLICIES];
			bool seen = false;
			for (size_t j = 0; j < count && !seen; j++)
				seen = strcmp(names[j], e->name) == 0;
			if (!seen && count < max)
				names[count++] = e->name;
		}
	}
	return count;
}

/* The sum over every worker of the counter at byte offset off. */
static uint64_t sum_at(const struct metrics *const *v, size_t n, size_t off)
{
	uint64_t t = 0;

	for (size_t w = 0; w < n; w++)
		t += get((const metrics_counter *)((const char *)v[w] + off));
	return t;
}

#define SUM(field, i)                                                                              \
	sum_at(v, n, offsetof(struct metrics, field) + (size_t)(i) * sizeof(metrics_counter))

char *metrics_render(const struct metrics *const *v, size_t n, const struct metrics_global *g,
                     size_t *len)
{
	struct sbuf o = {0};
	const char **names = NULL;
	size_t nnames;
	uint64_t cum = 0;

	names = calloc((METRICS_MAX_POLICIES + 1) * (n ? n : 1), sizeof(*names));
	if (names == NULL)
		return NULL;
	nnames = policy_names(v, n, names, (METRICS_MAX_POLICIES + 1) * (n ? n : 1));

	sbuf_printf(&o,
	            "# HELP corsd_build_info corsd version.\n# TYPE corsd_build_info gauge\n"
	            "corsd_build_info{version=\"%s\"} 1\n",
	            g->version);
	sbuf_printf(&o,
	            "# HELP corsd_workers Event-loop threads.\n# TYPE corsd_workers gauge\n"
	            "corsd_workers %u\n",
	            g->workers);
	sbuf_printf(&o, "# HELP corsd_requests_total Requests by CORS kind, outcome and policy.\n"
	                "# TYPE corsd_requests_total counter\n");
	for (int k = 0; k < METRICS_NKIND; k++) {
		for (size_t i = 0; i < nnames; i++) {
			for (int oc = 0; oc < METRICS_NOUTCOME; oc++) {
				uint64_t c = sum_policy(v, n, names[i], k, oc);
				/* A plain request is never allowed or denied; an
				 * actual one is "none" when same-origin; a
				 * preflight under a policy is always decided. */
				if ((k == METRICS_PLAIN && oc != METRICS_NONE) ||
				    (k == METRICS_PREFLIGHT && oc == METRICS_NONE))
					continue;
				if (c == 0 && strcmp(names[i], "_other") == 0)
					continue;
				sbuf_printf(
				    &o, "corsd_requests_total{kind=\"%s\",outcome=\"%s\",policy=\"",
				    kind_names[k], outcome_names[oc]);
				out_label(&o, names[i]);
				sbuf_printf(&o, "\"} %llu\n", (unsigned long long)c);
			}
		}
		sbuf_printf(&o,
		            "corsd_requests_total{kind=\"%s\",outcome=\"none\",policy=\"\"} %llu\n",
		            kind_names[k], (unsigned long long)SUM(no_policy, k));
	}
	sbuf_printf(
	    &o,
	    "# HELP corsd_bad_requests_total Requests refused as malformed, too large "
	    "or not implemented (400, 413, 417, 501).\n# TYPE corsd_bad_requests_total counter\n"
	    "corsd_bad_requests_total %llu\n",
	    (unsigned long long)SUM(bad_requests, 0));
	sbuf_printf(&o, "# HELP corsd_upstream_responses_total Upstream response heads by status "
	                "class.\n# TYPE corsd_upstream_responses_total counter\n");
	for (int c = 1; c <= 5; c++)
		sbuf_printf(&o, "corsd_upstream_responses_total{class=\"%dxx\"} %llu\n", c,
		            (unsigned long long)SUM(upstream_status, c));
	sbuf_printf(&o, "# HELP corsd_upstream_errors_total Failed upstream exchanges by cause.\n"
	                "# TYPE corsd_upstream_errors_total counter\n");
	for (int e = 0; e < METRICS_NUERR; e++)
		sbuf_printf(&o, "corsd_upstream_errors_total{cause=\"%s\"} %llu\n", uerr_names[e],
		            (unsigned long long)SUM(upstream_errors, e));
	sbuf_printf(&o,
	            "# HELP corsd_open_connections Open client connections.\n"
	            "# TYPE corsd_open_connections gauge\ncorsd_open_connections %llu\n",
	            (unsigned long long)g->open_connections);
	sbuf_printf(&o,
	            "# HELP corsd_config_reloads_total Policy reloads by result.\n"
	            "# TYPE corsd_config_reloads_total counter\n"
	            "corsd_config_reloads_total{result=\"ok\"} %llu\n"
	            "corsd_config_reloads_total{result=\"failed\"} %llu\n",
	            (unsigned long long)g->reloads_ok, (unsigned long long)g->reloads_failed);
	sbuf_printf(&o,
	            "# HELP corsd_request_duration_seconds Time from the request's arrival to "
	            "the end of its answer.\n# TYPE corsd_request_duration_seconds histogram\n");
	for (int b = 0; b <= METRICS_BUCKETS; b++) {
		cum += SUM(buckets, b);
		if (b < METRICS_BUCKETS)
			sbuf_printf(&o, "corsd_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
			            metrics_bucket_bounds[b], (unsigned long long)cum);
		else
			sbuf_printf(&o, "corsd_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
			            (unsigned long long)cum);
	}
	sbuf_printf(&o, "corsd_request_duration_seconds_sum %.6f\n",
	            (double)SUM(duration_us_sum, 0) / 1e6);
	sbuf_printf(&o, "corsd_request_duration_seconds_count %llu\n", (unsigned long long)cum);
	free(names);
	return sbuf_finish(&o, len);
}
