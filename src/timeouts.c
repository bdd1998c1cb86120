/*
 * Common timeouts by duration. A reload with new durations adds entries;
 * past TIMEOUTS_MAX distinct durations the rest are plain timevals, which
 * work the same, only through the heap.
 */
#include "timeouts.h"

#include <string.h>

void timeouts_init(struct timeouts *t, struct event_base *base)
{
	memset(t, 0, sizeof(*t));
	t->base = base;
}

const struct timeval *timeouts_get(struct timeouts *t, unsigned ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
	const struct timeval *common;

	for (unsigned i = 0; i < t->n; i++)
		if (t->v[i].ms == ms)
			return &t->v[i].tv;
	if (t->n == TIMEOUTS_MAX) {
		t->scratch = tv;
		return &t->scratch;
	}
	common = event_base_init_common_timeout(t->base, &tv);
	t->v[t->n].ms = ms;
	t->v[t->n].tv = common ? *common : tv;
	return &t->v[t->n++].tv;
}
