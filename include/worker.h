/*
 * worker: one event loop (event_base), its evhttp front, its upstream pool
 * and its reference to the running policy. Everything a worker owns is used
 * only from its own thread.
 */
#ifndef CORSD_WORKER_H
#define CORSD_WORKER_H

#include <stddef.h>
#include <event2/event.h>
#include <event2/http.h>
#include "policy.h"
#include "upstream.h"

struct worker {
	int index;
	struct event_base *base;
	struct evhttp *http;
	struct upstream_pool *pool;
	struct policy *policy; /* one reference, owned by the worker */
};

/* Creates the loop and binds every `listen` address of p (logging
 * "listening on ADDR" for each). Takes its own reference to p. Returns 0, or
 * -1 with a message in err. */
int worker_init(struct worker *w, int index, struct policy *p, char *err, size_t errsz);
/* Makes p the policy for new requests (takes a reference; requests in
 * flight keep theirs). */
void worker_set_policy(struct worker *w, struct policy *p);
/* Runs the loop until worker_stop. */
int worker_run(struct worker *w);
void worker_stop(struct worker *w);
void worker_free(struct worker *w);

#endif
