/*
 * metrics: the counters and the request-duration histogram behind the
 * admin /metrics page, and their Prometheus text rendering. Each worker
 * owns one struct metrics and is its only writer (relaxed atomic stores, no
 * locked instructions on the request path); the admin thread reads them all
 * and sums. Pure: no libevent, no sockets.
 */
#ifndef CORSD_METRICS_H
#define CORSD_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Policies counted by name; a file with more puts the rest under "_other". */
#define METRICS_MAX_POLICIES 128
#define METRICS_NAME_MAX 64
#define METRICS_BUCKETS 14

enum metrics_kind { METRICS_PREFLIGHT, METRICS_ACTUAL, METRICS_PLAIN, METRICS_NKIND };
enum metrics_outcome { METRICS_ALLOWED, METRICS_DENIED, METRICS_NONE, METRICS_NOUTCOME };
enum metrics_upstream_error {
	METRICS_UERR_CONNECT,
	METRICS_UERR_CONNECT_TIMEOUT,
	METRICS_UERR_TIMEOUT,
	METRICS_UERR_PROTOCOL,
	METRICS_UERR_CLOSED,
	METRICS_NUERR,
};

typedef _Atomic uint64_t metrics_counter;

struct metrics_policy {
	const void *key; /* the rule last counted here: a pointer compare first */
	char name[METRICS_NAME_MAX];
	metrics_counter requests[METRICS_NKIND][METRICS_NOUTCOME];
};

struct metrics {
	atomic_size_t npolicies; /* entries below it are complete (release) */
	struct metrics_policy policies[METRICS_MAX_POLICIES + 1]; /* + "_other" */
	metrics_counter no_policy[METRICS_NKIND];                 /* matched no policy */
	metrics_counter upstream_status[6];                       /* 1xx..5xx; [0] other */
	metrics_counter upstream_errors[METRICS_NUERR];
	metrics_counter bad_requests; /* refused before any decision: 400, 413, 417, 501 */
	metrics_counter buckets[METRICS_BUCKETS + 1];
	metrics_counter duration_us_sum;
};

/* Upper bounds of the histogram buckets, in seconds (the last is +Inf). */
extern const double metrics_bucket_bounds[METRICS_BUCKETS];

void metrics_init(struct metrics *m);

/* One finished request. name NULL: no policy matched. key identifies the
 * rule object so a repeat costs a pointer compare, not a string compare. */
void metrics_request(struct metrics *m, const void *key, const char *name, enum metrics_kind k,
                     enum metrics_outcome o, uint64_t duration_ns);
void metrics_upstream_status(struct metrics *m, int status);
void metrics_upstream_error(struct metrics *m, enum metrics_upstream_error e);
void metrics_bad_request(struct metrics *m);

/* Process-wide figures the workers do not own. */
struct metrics_global {
	uint64_t open_connections;
	uint64_t reloads_ok, reloads_failed;
	unsigned workers;
	const char *version;
};

/* Renders the sum of n workers' metrics as Prometheus text (format 0.0.4).
 * Returns a malloc'd NUL-terminated string (length in *len), NULL on OOM. */
char *metrics_render(const struct metrics *const *v, size_t n, const struct metrics_global *g,
                     size_t *len);

#endif
