/*
 * wake: a cross-thread doorbell for one event_base. Another thread rings it;
 * the callback then runs on the base's own thread. It rests on an eventfd,
 * so the bases need no libevent locking (they are made lock-free: every
 * event operation on the hot path stays uncontended).
 */
#ifndef CORSD_WAKE_H
#define CORSD_WAKE_H

#include <event2/event.h>

struct wake;

/* NULL on failure (errno set). cb runs on base's thread, once per batch of
 * rings: a ring that arrives while cb runs is seen by the next call. */
struct wake *wake_new(struct event_base *base, void (*cb)(void *arg), void *arg);
/* Safe from any thread, async-signal-safe. */
void wake_ring(struct wake *w);
void wake_free(struct wake *w);

#endif
