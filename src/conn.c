/*
 * Client connections as corsd sees them. evhttp makes a connection inside
 * its accept callback and tells nobody; the only hook it offers there is the
 * one that makes the bufferevent (evhttp_set_bevcb), which runs before the
 * connection object exists. So a connection is counted in that hook (where
 * disabling the listener also ends evhttp's accept loop at once) and adopted
 * on the next turn of the loop, when evhttp has made it: its close callback
 * then tells us when it goes. Nothing can read or close the new connection
 * in between, because its first read event needs another epoll_wait.
 */
#include "conn.h"

#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "exchange.h"
#include "log.h"
#include "worker.h"

/* While draining, a connection still flushing its last answer is looked at
 * again this often. */
#define CONN_DRAIN_POLL_MS 10

static void arm(struct conn *c, unsigned ms)
{
	event_add(&c->deadline, timeouts_get(&c->w->timeouts, ms));
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;
	struct conn_table *t = &w->conns;

	if (c->ex)
		exchange_client_gone(c->ex);
	event_del(&c->deadline);
	if (c->fd >= 0 && (size_t)c->fd < t->cap && t->by_fd[c->fd] == c)
		t->by_fd[c->fd] = NULL;
	t->n--;
	free(c);
	worker_conn_closed(w);
}

/* No whole request within timeouts.client (or draining and idle): close,
 * unless the previous answer is still flushing to a slow reader; evhttp's
 * write timeout covers a reader that stalls. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;

	if (c->ex != NULL)
		return;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		arm(c, w->draining ? CONN_DRAIN_POLL_MS : w->policy->client_ms);
		return;
	}
	if (!w->draining)
		log_msg(POLICY_LOG_DEBUG, "client fd %d: no whole request within %u ms: closing",
		        c->fd, w->policy->client_ms);
	evhttp_connection_free(c->evcon);
}

static int table_put(struct conn_table *t, struct conn *c)
{
	if ((size_t)c->fd >= t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		struct conn **v;
		while (cap <= (size_t)c->fd)
			cap *= 2;
		v = realloc(t->by_fd, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		memset(v + t->cap, 0, (cap - t->cap) * sizeof(*v));
		t->by_fd = v;
		t->cap = cap;
	}
	t->by_fd[c->fd] = c;
	t->n++;
	return 0;
}

/* Undo the count of a connection we could not track. */
static void forget(struct worker *w, struct conn *c)
{
	free(c);
	worker_conn_closed(w);
}

static void on_adopt(evutil_socket_t fd_unused, short what, void *arg)
{
	struct worker *w = arg;
	struct conn_table *t = &w->conns;
	size_t n = t->nfresh;

	t->nfresh = 0;
	for (size_t i = 0; i < n; i++) {
		struct conn *c = t->fresh[i];
		void *cbarg = NULL;

		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		c->evcon = cbarg;
		c->fd = (int)bufferevent_getfd(c->bev);
		if (c->evcon == NULL || c->fd < 0 || table_put(t, c) < 0) {
			forget(w, c);
			continue;
		}
		event_assign(&c->deadline, w->base, -1, 0, on_deadline, c);
		evhttp_connection_set_closecb(c->evcon, on_close, c);
		if (c->refused || w->draining) {
			evhttp_connection_free(c->evcon);
			continue;
		}
		arm(c, w->policy->client_ms);
	}
}

/* evhttp's bufferevent hook: runs in the accept callback for each new
 * connection. A NULL return makes evhttp build its own (untracked). */
static struct bufferevent *on_new_connection(struct event_base *base, void *arg)
{
	struct worker *w = arg;
	struct conn_table *t = &w->conns;
	struct conn *c = NULL;
	struct bufferevent *bev = NULL;
	unsigned open, max;

	if (t->nfresh == t->capfresh) {
		size_t cap = t->capfresh ? t->capfresh * 2 : 64;
		void *v = realloc(t->fresh, cap * sizeof(*t->fresh));
		if (v == NULL)
			return NULL;
		t->fresh = v;
		t->capfresh = cap;
	}
	c = calloc(1, sizeof(*c));
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c == NULL || bev == NULL) {
		free(c);
		if (bev)
			bufferevent_free(bev);
		return NULL;
	}
	c->w = w;
	c->bev = bev;
	c->fd = -1;
	open = atomic_fetch_add(&w->group->open, 1) + 1;
	max = atomic_load(&w->group->max_connections);
	/* Several workers may cross the limit at once: the ones past it are
	 * refused rather than served over the limit. */
	c->refused = open > max;
	if (open >= max)
		worker_pause_accept(w);
	t->fresh[t->nfresh++] = c;
	event_active(t->adopt, EV_TIMEOUT, 0);
	return bev;
}

int conn_setup(struct worker *w)
{
	struct conn_table *t = &w->conns;

	memset(t, 0, sizeof(*t));
	t->adopt = event_new(w->base, -1, 0, on_adopt, w);
	if (t->adopt == NULL)
		return -1;
	evhttp_set_bevcb(w->http, on_new_connection, w);
	return 0;
}

void conn_teardown(struct worker *w)
{
	struct conn_table *t = &w->conns;

	/* evhttp_free has closed every adopted connection; the ones it made
	 * after the last adoption pass are gone with it too. */
	for (size_t i = 0; i < t->nfresh; i++) {
		free(t->fresh[i]);
		atomic_fetch_sub(&w->group->open, 1);
	}
	for (size_t i = 0; i < t->cap; i++)
		free(t->by_fd[i]);
	free(t->by_fd);
	free(t->fresh);
	if (t->adopt)
		event_free(t->adopt);
	memset(t, 0, sizeof(*t));
}

struct conn *conn_of(struct worker *w, struct evhttp_connection *evcon)
{
	struct conn_table *t = &w->conns;
	int fd;

	if (evcon == NULL)
		return NULL;
	fd = (int)bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	if (fd < 0 || (size_t)fd >= t->cap || t->by_fd[fd] == NULL || t->by_fd[fd]->evcon != evcon)
		return NULL;
	return t->by_fd[fd];
}

void conn_request_begin(struct conn *c, struct exchange *ex)
{
	c->ex = ex;
	event_del(&c->deadline);
}

void conn_request_end(struct conn *c)
{
	c->ex = NULL;
	arm(c, c->w->draining ? 0 : c->w->policy->client_ms);
}

void conn_drain(struct worker *w)
{
	struct conn_table *t = &w->conns;

	for (size_t i = 0; i < t->cap; i++)
		if (t->by_fd[i] != NULL && t->by_fd[i]->ex == NULL)
			arm(t->by_fd[i], 0);
}
