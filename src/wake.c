/*
 * The doorbell between the main thread and the workers. An eventfd counts
 * rings; the base's read event drains it and runs the callback.
 */
#include "wake.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct wake {
	int fd;
	struct event *ev;
	void (*cb)(void *arg);
	void *arg;
};

static void on_ring(evutil_socket_t fd, short what, void *arg)
{
	struct wake *w = arg;
	uint64_t n;

	/* Drain first: a ring during the callback then wakes us again. */
	while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	w->cb(w->arg);
}

struct wake *wake_new(struct event_base *base, void (*cb)(void *arg), void *arg)
{
	struct wake *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->cb = cb;
	w->arg = arg;
	w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->fd < 0)
		goto fail;
	w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, on_ring, w);
	if (w->ev == NULL || event_add(w->ev, NULL) < 0)
		goto fail;
	return w;
fail:
	wake_free(w);
	return NULL;
}

void wake_ring(struct wake *w)
{
	uint64_t one = 1;
	int saved = errno;

	/* EAGAIN means the counter is saturated: the reader is already due. */
	while (write(w->fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	errno = saved;
}

void wake_free(struct wake *w)
{
	if (w == NULL)
		return;
	if (w->ev)
		event_free(w->ev);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}
