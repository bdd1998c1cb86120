/*
 * A worker: an event loop with its own evhttp front and upstream pool.
 * The base uses the epoll changelist, which folds the per-request
 * epoll_ctl calls evhttp otherwise makes (measured: about a third of the CPU
 * of a bare preflight answer).
 */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "front.h"
#include "log.h"

/* Idle upstream connections kept per upstream address. */
#define WORKER_POOL_IDLE 64

static void log_bound(struct evhttp_bound_socket *bs)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];

	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		log_msg(POLICY_LOG_INFO, "listening on [%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		log_msg(POLICY_LOG_INFO, "listening on %s:%u", host, ntohs(s4->sin_port));
	}
}

int worker_init(struct worker *w, int index, struct policy *p, char *err, size_t errsz)
{
	struct event_config *cfg = NULL;

	memset(w, 0, sizeof(*w));
	w->index = index;
	cfg = event_config_new();
	if (cfg == NULL)
		goto oom;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL)
		goto oom;
	w->http = evhttp_new(w->base);
	w->pool = upstream_pool_new(w->base, WORKER_POOL_IDLE);
	if (w->http == NULL || w->pool == NULL)
		goto oom;
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                        EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(w->http, NULL);
	evhttp_set_gencb(w->http, front_handle, w);
	worker_set_policy(w, p);

	for (size_t i = 0; i < p->nlisten; i++) {
		const struct policy_addr *a = &p->listen[i];
		struct evhttp_bound_socket *bs =
		    evhttp_bind_socket_with_handle(w->http, a->host, a->port);
		if (bs == NULL) {
			snprintf(err, errsz, "cannot listen on %s: %s", a->text, strerror(errno));
			return -1;
		}
		log_bound(bs);
	}
	return 0;
oom:
	snprintf(err, errsz, "out of memory creating the event loop");
	return -1;
}

/* The limits evhttp enforces come from the policy too, so a reload applies
 * them here along with the swap. Connections already open keep the client
 * timeout they were accepted with. */
void worker_set_policy(struct worker *w, struct policy *p)
{
	struct timeval tv;

	evhttp_set_max_headers_size(w->http, (ev_ssize_t)p->max_header_bytes);
	evhttp_set_max_body_size(w->http, (ev_ssize_t)p->max_body_bytes);
	tv.tv_sec = p->client_ms / 1000;
	tv.tv_usec = (p->client_ms % 1000) * 1000;
	evhttp_set_timeout_tv(w->http, &tv);
	policy_ref(p);
	policy_unref(w->policy);
	w->policy = p;
}

int worker_run(struct worker *w)
{
	return event_base_dispatch(w->base);
}

void worker_stop(struct worker *w)
{
	event_base_loopbreak(w->base);
}

void worker_free(struct worker *w)
{
	if (w->http)
		evhttp_free(w->http);
	if (w->pool)
		upstream_pool_free(w->pool);
	if (w->base)
		event_base_free(w->base);
	policy_unref(w->policy);
	memset(w, 0, sizeof(*w));
}
