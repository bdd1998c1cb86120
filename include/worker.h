/*
 * worker: one event-loop thread with its own event_base, evhttp front,
 * SO_REUSEPORT listeners, upstream pool, client connections and reference
 * to the running policy. Everything a worker owns is used only from its own
 * thread; the main thread talks to it through a mailbox (a new policy, drain,
 * stop, resume accepting) and a doorbell. The workers of one daemon form a
 * group that shares the connection count behind `max_connections`.
 */
#ifndef CORSD_WORKER_H
#define CORSD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>
#include <event2/event.h>
#include <event2/http.h>
#include "conn.h"
#include "front.h"
#include "metrics.h"
#include "policy.h"
#include "timeouts.h"
#include "upstream.h"
#include "wake.h"

struct worker;
struct exchange;

/* Shared by every worker of a daemon; owned by the daemon. */
struct worker_group {
	struct worker *v;
	size_t n;
	atomic_uint open;            /* client connections of all workers */
	atomic_uint max_connections; /* from the running policy */
	struct wake *main_wake;      /* rung when a worker's loop has ended */
};

struct worker {
	int index;
	struct worker_group *group;
	struct event_base *base;
	struct evhttp *http;
	struct upstream_pool *pool;
	struct timeouts timeouts; /* the loop's durations as common timeouts */
	struct policy *policy;    /* one reference, owned by the worker */
	struct conn_table conns;
	struct metrics metrics;   /* written by this worker only */
	struct exchange *spare;   /* finished exchanges kept for reuse (exchange.c) */
	time_t date_sec;          /* the second date[] was formatted for (front.c) */
	struct front_lines lines; /* scratch for a response head (exchange.c) */
	char date[40];
	size_t nspare;
	struct evhttp_bound_socket **bound;
	size_t nbound;
	bool draining;             /* listeners closed; connections close when idle */
	atomic_bool accept_paused; /* at max_connections: listeners disabled */
	bool accept_backoff;       /* accept() ran out of descriptors: retrying soon */
	struct event *accept_retry;
	atomic_bool exited; /* the loop has returned */

	pthread_t thread;
	bool started;
	struct wake *wake;
	pthread_mutex_t lock; /* guards the mailbox below */
	struct policy *mbox_policy;
	unsigned mbox_cmds;
};

/* Creates the loop (nothing bound yet). Takes its own reference to p.
 * Returns 0, or -1 with a message in err. */
int worker_init(struct worker *w, struct worker_group *g, int index, struct policy *p, char *err,
                size_t errsz);
/* Binds one listener at sa (SO_REUSEPORT when the group has several
 * workers, so each binds the same address). */
int worker_listen(struct worker *w, const struct sockaddr *sa, socklen_t len, char *err,
                  size_t errsz);
/* The fd of the worker's i-th listener (for getsockname). */
int worker_listener_fd(const struct worker *w, size_t i);
/* Starts the thread running the loop. */
int worker_start(struct worker *w);
/* From the main thread: hand over a new policy (the worker takes its own
 * reference), start a drain, stop at once, or resume accepting. */
void worker_post_policy(struct worker *w, struct policy *p);
void worker_post_drain(struct worker *w);
void worker_post_stop(struct worker *w);
void worker_post_resume(struct worker *w);
/* Joins the thread (if started) and frees everything. */
void worker_free(struct worker *w);

/* From the worker's own thread (conn.c): the group's count crossed
 * max_connections one way or the other. */
void worker_pause_accept(struct worker *w);
void worker_conn_closed(struct worker *w);

/* Makes p the policy for new requests on the worker's own thread. */
void worker_set_policy(struct worker *w, struct policy *p);

#endif
