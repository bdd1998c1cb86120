/*
 * A worker thread. The base uses the epoll changelist, which folds the
 * per-request epoll_ctl calls evhttp otherwise makes (measured: about a third
 * of the CPU of a bare preflight answer), and no locks: other threads reach
 * it only through the mailbox and its doorbell.
 */
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <event2/listener.h>

#include "exchange.h"
#include "front.h"
#include "log.h"
#include "mm.h"

/* Idle upstream connections kept per upstream address. */
#define WORKER_POOL_IDLE 64
/* The kernel caps it at net.core.somaxconn; a burst of connections waits
 * here (also while accepting is paused at max_connections). */
#define WORKER_BACKLOG 4096
/* How long accepting pauses after accept() ran out of descriptors. */
#define WORKER_ACCEPT_BACKOFF_MS 100

enum {
	WORKER_CMD_DRAIN = 1u << 0,
	WORKER_CMD_STOP = 1u << 1,
	WORKER_CMD_RESUME = 1u << 2,
};

static void set_listening(struct worker *w, bool on)
{
	for (size_t i = 0; i < w->nbound; i++) {
		struct evconnlistener *l = evhttp_bound_socket_get_listener(w->bound[i]);
		if (on)
			evconnlistener_enable(l);
		else
			evconnlistener_disable(l);
	}
}

void worker_pause_accept(struct worker *w)
{
	if (!atomic_exchange(&w->accept_paused, true)) {
		set_listening(w, false);
		log_msg(POLICY_LOG_WARN, "worker %d: max_connections (%u) reached: not accepting",
		        w->index, atomic_load(&w->group->max_connections));
	}
}

static void resume_accept(struct worker *w)
{
	if (w->draining || !atomic_load(&w->accept_paused))
		return;
	if (atomic_load(&w->group->open) >= atomic_load(&w->group->max_connections))
		return;
	atomic_store(&w->accept_paused, false);
	if (!w->accept_backoff)
		set_listening(w, true);
	log_msg(POLICY_LOG_INFO, "worker %d: accepting again", w->index);
}

static void on_accept_retry(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	w->accept_backoff = false;
	if (!w->draining && !atomic_load(&w->accept_paused))
		set_listening(w, true);
}

/* accept() failed for a reason other than a client giving up: out of file
 * descriptors or kernel memory. The listening socket stays readable, so
 * retrying at once would spin; stop accepting for a moment instead (the
 * backlog holds new connections meanwhile). */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
	struct worker *w = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, WORKER_ACCEPT_BACKOFF_MS * 1000};

	if (w->accept_backoff)
		return;
	log_msg(POLICY_LOG_ERROR,
	        "worker %d: accept: %s (%u client connections open): pausing accepts for %d ms",
	        w->index, strerror(err), atomic_load(&w->group->open), WORKER_ACCEPT_BACKOFF_MS);
	w->accept_backoff = true;
	set_listening(w, false);
	evtimer_add(w->accept_retry, &tv);
}

void worker_conn_closed(struct worker *w)
{
	struct worker_group *g = w->group;
	unsigned open = atomic_fetch_sub(&g->open, 1) - 1;

	if (open < atomic_load(&g->max_connections)) {
		for (size_t i = 0; i < g->n; i++) {
			struct worker *o = &g->v[i];
			if (!atomic_load(&o->accept_paused))
				continue;
			if (o == w)
				resume_accept(w);
			else
				worker_post_resume(o);
		}
	}
	if (w->draining && w->conns.n == 0 && w->conns.nfresh == 0)
		event_base_loopbreak(w->base);
}

/* The limits evhttp enforces come from the policy too, so a new policy
 * applies them here along with the swap. Connections already open keep the
 * client timeout they were accepted with. */
void worker_set_policy(struct worker *w, struct policy *p)
{
	evhttp_set_max_headers_size(w->http, (ev_ssize_t)p->max_header_bytes);
	evhttp_set_max_body_size(w->http, (ev_ssize_t)p->max_body_bytes);
	/* evhttp copies the timeval into each connection's bufferevent: as a
	 * common timeout, its re-arming on every read stays O(1). */
	evhttp_set_timeout_tv(w->http, timeouts_get(&w->timeouts, p->client_ms));
	policy_ref(p);
	policy_unref(w->policy);
	w->policy = p;
}

static void drain(struct worker *w)
{
	if (w->draining)
		return;
	w->draining = true;
	/* Closing the listeners (not just disabling them) refuses new
	 * connections at once instead of leaving them in a backlog nobody
	 * will read; another process on the same port takes them. */
	for (size_t i = 0; i < w->nbound; i++)
		evhttp_del_accept_socket(w->http, w->bound[i]);
	w->nbound = 0;
	conn_drain(w);
	if (w->conns.n == 0 && w->conns.nfresh == 0)
		event_base_loopbreak(w->base);
}

static void on_mail(void *arg)
{
	struct worker *w = arg;
	struct policy *p;
	unsigned cmds;

	pthread_mutex_lock(&w->lock);
	p = w->mbox_policy;
	cmds = w->mbox_cmds;
	w->mbox_policy = NULL;
	w->mbox_cmds = 0;
	pthread_mutex_unlock(&w->lock);

	if (p) {
		worker_set_policy(w, p);
		policy_unref(p);
	}
	if (cmds & WORKER_CMD_STOP) {
		event_base_loopbreak(w->base);
		return;
	}
	if (cmds & WORKER_CMD_DRAIN)
		drain(w);
	if (cmds & WORKER_CMD_RESUME)
		resume_accept(w);
}

static void post(struct worker *w, struct policy *p, unsigned cmds)
{
	struct policy *old;

	pthread_mutex_lock(&w->lock);
	old = w->mbox_policy;
	if (p)
		w->mbox_policy = policy_ref(p);
	else
		old = NULL;
	w->mbox_cmds |= cmds;
	pthread_mutex_unlock(&w->lock);
	policy_unref(old); /* a newer policy arrived before the worker took this one */
	wake_ring(w->wake);
}

void worker_post_policy(struct worker *w, struct policy *p)
{
	post(w, p, 0);
}

void worker_post_drain(struct worker *w)
{
	post(w, NULL, WORKER_CMD_DRAIN);
}

void worker_post_stop(struct worker *w)
{
	post(w, NULL, WORKER_CMD_STOP);
}

void worker_post_resume(struct worker *w)
{
	post(w, NULL, WORKER_CMD_RESUME);
}

int worker_init(struct worker *w, struct worker_group *g, int index, struct policy *p, char *err,
                size_t errsz)
{
	struct event_config *cfg = NULL;

	memset(w, 0, sizeof(*w));
	w->index = index;
	w->group = g;
	metrics_init(&w->metrics);
	pthread_mutex_init(&w->lock, NULL);
	cfg = event_config_new();
	if (cfg == NULL)
		goto oom;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST | EVENT_BASE_FLAG_NOLOCK);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		goto oom;
	timeouts_init(&w->timeouts, w->base);
	w->http = evhttp_new(w->base);
	w->pool = upstream_pool_new(w->base, &w->timeouts, WORKER_POOL_IDLE);
	w->wake = wake_new(w->base, on_mail, w);
	w->accept_retry = evtimer_new(w->base, on_accept_retry, w);
	if (w->http == NULL || w->pool == NULL || w->wake == NULL || w->accept_retry == NULL ||
	    conn_setup(w) < 0)
		goto oom;
	/* CONNECT only so that front_handle refuses it: evhttp's own 501
	 * to it keeps the connection and reads the tunnel as requests. */
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                        EVHTTP_REQ_PATCH | EVHTTP_REQ_CONNECT);
	evhttp_set_default_content_type(w->http, NULL);
	evhttp_set_gencb(w->http, front_handle, w);
	worker_set_policy(w, p);
	return 0;
oom:
	snprintf(err, errsz, "out of memory creating an event loop");
	return -1;
}

/* The socket is made here rather than by evconnlistener_new_bind so that
 * an IPv6 one is IPv6 only: "0.0.0.0:8080" and "[::]:8080" can then both
 * be listed, as with nginx, instead of the second failing with "address in
 * use" on systems where [::] also takes IPv4. */
static int listen_socket(const struct sockaddr *sa, socklen_t len, bool reuseport)
{
	int one = 1;
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    (sa->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, sa, len) < 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int worker_listen(struct worker *w, const struct sockaddr *sa, socklen_t len, char *err,
                  size_t errsz)
{
	struct evconnlistener *l;
	struct evhttp_bound_socket *bs, **v;
	int fd;

	v = realloc(w->bound, (w->nbound + 1) * sizeof(*v));
	if (v == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	w->bound = v;
	/* Only a group needs SO_REUSEPORT; alone, a second process on the
	 * same port gets a clear "address in use" instead of half the
	 * connections. */
	fd = listen_socket(sa, len, w->group->n > 1);
	if (fd < 0) {
		snprintf(err, errsz, "%s", strerror(errno));
		return -1;
	}
	l = evconnlistener_new(w->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE, WORKER_BACKLOG, fd);
	if (l == NULL) {
		snprintf(err, errsz, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	bs = evhttp_bind_listener(w->http, l);
	if (bs == NULL) {
		evconnlistener_free(l);
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	evconnlistener_set_error_cb(l, on_accept_error);
	w->bound[w->nbound++] = bs;
	return 0;
}

int worker_listener_fd(const struct worker *w, size_t i)
{
	return (int)evhttp_bound_socket_get_fd(w->bound[i]);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	event_base_dispatch(w->base);
	mm_thread_exit();
	atomic_store(&w->exited, true);
	wake_ring(w->group->main_wake);
	return NULL;
}

int worker_start(struct worker *w)
{
	int rc = pthread_create(&w->thread, NULL, worker_main, w);

	if (rc != 0) {
		errno = rc;
		return -1;
	}
	w->started = true;
	return 0;
}

void worker_free(struct worker *w)
{
	if (w->started)
		pthread_join(w->thread, NULL);
	/* evhttp first: closing its connections ends their exchanges, which
	 * abort their upstream calls into the pool. */
	if (w->http)
		evhttp_free(w->http);
	conn_teardown(w);
	exchange_free_spares(w);
	if (w->pool)
		upstream_pool_free(w->pool);
	wake_free(w->wake);
	if (w->accept_retry)
		event_free(w->accept_retry);
	if (w->base)
		event_base_free(w->base);
	policy_unref(w->policy);
	policy_unref(w->mbox_policy);
	free(w->bound);
	pthread_mutex_destroy(&w->lock);
	memset(w, 0, sizeof(*w));
}
