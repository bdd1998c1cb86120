/*
 * timeouts: the durations a worker's loop uses, as libevent "common
 * timeouts". A timer with a common timeout goes into a queue for its
 * duration instead of the timer heap, so arming and disarming it (which
 * evhttp and corsd do several times per request) costs O(1). One per worker
 * (per event_base), used only from that worker's thread.
 */
#ifndef CORSD_TIMEOUTS_H
#define CORSD_TIMEOUTS_H

#include <event2/event.h>

#define TIMEOUTS_MAX 16

struct timeouts {
	struct event_base *base;
	unsigned n;
	struct {
		unsigned ms;
		struct timeval tv;
	} v[TIMEOUTS_MAX];
	struct timeval scratch; /* a duration past the cache: a plain one */
};

void timeouts_init(struct timeouts *t, struct event_base *base);
/* The timeval to pass to event_add / bufferevent_set_timeouts for ms
 * milliseconds (libevent copies it). Valid until the next call. */
const struct timeval *timeouts_get(struct timeouts *t, unsigned ms);

#endif
