/*
 * The floor: the least an evhttp server on libevent 2.1 can do to answer a
 * CORS preflight. It sets the event base up the way corsd does (epoll
 * changelist), lets evhttp parse the request, and answers every request
 * with 204 and the fixed CORS headers corsd sends for the benchmark's
 * allowed preflight. No policy, no decision, no logging: the CPU it spends
 * per request is the stack's own cost, which corsd cannot go below.
 *
 * Usage: floor [PORT]   (default 0: any free port; the bound port is
 * printed on stderr as "listening on 127.0.0.1:PORT", corsd's own
 * readiness line). SIGTERM or SIGINT stops it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>

/* The headers corsd answers the benchmark's preflight with (bench/run.sh
 * checks they are the same before measuring). evhttp adds Date and
 * Content-Length as it does for corsd. */
static const char *const floor_headers[][2] = {
    {"Access-Control-Allow-Origin", "https://app.example.com"},
    {"Access-Control-Allow-Credentials", "true"},
    {"Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, DELETE"},
    {"Access-Control-Allow-Headers", "Content-Type, X-Request-ID"},
    {"Access-Control-Max-Age", "600"},
    {"Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
};

static void floor_answer(struct evhttp_request *req, void *arg)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	(void)arg;
	for (size_t i = 0; i < sizeof(floor_headers) / sizeof(floor_headers[0]); i++)
		evhttp_add_header(out, floor_headers[i][0], floor_headers[i][1]);
	evhttp_send_reply(req, 204, "No Content", NULL);
}

static void floor_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	struct event_config *cfg;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bs;
	struct event *ev_term, *ev_int;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	long port = argc > 1 ? strtol(argv[1], NULL, 10) : 0;

	if (argc > 2 || port < 0 || port > 65535) {
		fprintf(stderr, "usage: floor [PORT]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	cfg = event_config_new();
	if (cfg == NULL)
		return 1;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base == NULL)
		return 1;
	http = evhttp_new(base);
	if (http == NULL)
		return 1;
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                     EVHTTP_REQ_OPTIONS);
	evhttp_set_default_content_type(http, NULL);
	evhttp_set_timeout(http, 60);
	evhttp_set_gencb(http, floor_answer, NULL);
	bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port);
	if (bs == NULL) {
		perror("floor: bind");
		return 1;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len) < 0) {
		perror("floor: getsockname");
		return 1;
	}
	ev_term = evsignal_new(base, SIGTERM, floor_stop, base);
	ev_int = evsignal_new(base, SIGINT, floor_stop, base);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) < 0 ||
	    evsignal_add(ev_int, NULL) < 0)
		return 1;
	fprintf(stderr, "listening on 127.0.0.1:%u\n", ntohs(sin.sin_port));
	fflush(stderr);
	event_base_dispatch(base);
	event_free(ev_term);
	event_free(ev_int);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
