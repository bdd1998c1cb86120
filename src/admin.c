/*
 * The admin listener. It shares the main thread with signals and reloads,
 * never the workers' loops, so a slow scrape cannot delay a request; it
 * reads the workers' counters the way metrics.h allows (one writer each).
 */
#include "admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "daemon.h"
#include "explain.h"
#include "log.h"
#include "metrics.h"

struct admin {
	struct daemon *dm;
	struct evhttp *http;
};

static void reply(struct evhttp_request *req, int status, const char *reason, const char *type,
                  const char *body, size_t len)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);

	if (buf == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	evhttp_add_header(out, "Content-Type", type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evbuffer_add(buf, body, len);
	evhttp_send_reply(req, status, reason, buf);
	evbuffer_free(buf);
}

static void text(struct evhttp_request *req, int status, const char *reason, const char *body)
{
	reply(req, status, reason, "text/plain; charset=utf-8", body, strlen(body));
}

static void serve_metrics(struct admin *a, struct evhttp_request *req)
{
	struct daemon *dm = a->dm;
	const struct metrics **v = calloc(dm->group.n ? dm->group.n : 1, sizeof(*v));
	struct metrics_global g = {
	    .open_connections = atomic_load(&dm->group.open),
	    .reloads_ok = dm->reloads_ok,
	    .reloads_failed = dm->reloads_failed,
	    .workers = (unsigned)dm->group.n,
	    .version = CORSD_VERSION,
	};
	char *body = NULL;
	size_t len = 0;

	if (v != NULL) {
		for (size_t i = 0; i < dm->group.n; i++)
			v[i] = &dm->group.v[i].metrics;
		body = metrics_render((const struct metrics *const *)v, dm->group.n, &g, &len);
	}
	free(v);
	if (body == NULL) {
		text(req, 503, "Service Unavailable", "out of memory\n");
		return;
	}
	reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len);
	free(body);
}

/* GET /explain?method=&path=&host=&origin=&headers=&private_network=:
 * the decision the running policy makes for that request, as JSON. */
static void serve_explain(struct admin *a, struct evhttp_request *req, const struct evhttp_uri *uri)
{
	struct evkeyvalq params;
	struct cors_facts *facts = malloc(sizeof(*facts));
	struct cors_decision *dec = malloc(sizeof(*dec));
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	const char *why = NULL, *pn;
	char *json = NULL, msg[256];
	size_t len = 0;

	params.tqh_first = NULL; /* TAILQ_INIT, which event2 does not export */
	params.tqh_last = &params.tqh_first;
	if (facts == NULL || dec == NULL) {
		text(req, 503, "Service Unavailable", "out of memory\n");
		goto out;
	}
	if (query && evhttp_parse_query_str(query, &params) < 0) {
		why = "the query string is not valid percent-encoding";
	} else {
		pn = evhttp_find_header(&params, "private_network");
		if (explain_facts_from_params(
		        facts, evhttp_find_header(&params, "method"),
		        evhttp_find_header(&params, "path"), evhttp_find_header(&params, "host"),
		        evhttp_find_header(&params, "origin"),
		        evhttp_find_header(&params, "headers"),
		        pn && (strcmp(pn, "true") == 0 || strcmp(pn, "1") == 0), &why) == 0) {
			cors_decide(a->dm->policy, facts, dec);
			json = explain_json(a->dm->policy, facts, dec, &len);
		}
	}
	if (why != NULL) {
		/* why is one of explain's static sentences: no escaping needed. */
		snprintf(msg, sizeof(msg), "{\"error\": \"%s\"}\n", why);
		reply(req, 400, "Bad Request", "application/json", msg, strlen(msg));
	} else if (json == NULL) {
		text(req, 503, "Service Unavailable", "out of memory\n");
	} else {
		reply(req, 200, "OK", "application/json", json, len);
	}
out:
	evhttp_clear_headers(&params);
	free(json);
	free(facts);
	free(dec);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct admin *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
		text(req, 405, "Method Not Allowed", "only GET\n");
		return;
	}
	if (path && strcmp(path, "/healthz") == 0) {
		/* Draining: tell load balancers to stop sending here. */
		if (a->dm->draining)
			text(req, 503, "Service Unavailable", "draining\n");
		else
			text(req, 200, "OK", "ok\n");
	} else if (path && strcmp(path, "/metrics") == 0) {
		serve_metrics(a, req);
	} else if (path && strcmp(path, "/explain") == 0) {
		serve_explain(a, req, uri);
	} else {
		text(req, 404, "Not Found", "not found: try /healthz, /metrics or /explain\n");
	}
}

struct admin *admin_new(struct daemon *dm, const struct policy_addr *addr, char *err, size_t errsz)
{
	struct admin *a = calloc(1, sizeof(*a));
	struct evhttp_bound_socket *bs;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN + 16];

	if (a == NULL)
		goto oom;
	a->dm = dm;
	a->http = evhttp_new(dm->base);
	if (a->http == NULL)
		goto oom;
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(a->http, NULL);
	evhttp_set_max_headers_size(a->http, 16384);
	evhttp_set_max_body_size(a->http, 0);
	evhttp_set_timeout(a->http, 10);
	evhttp_set_gencb(a->http, on_request, a);
	bs = evhttp_bind_socket_with_handle(a->http, addr->host, addr->port);
	if (bs == NULL) {
		snprintf(err, errsz, "%s", strerror(errno));
		admin_free(a);
		return NULL;
	}
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) == 0) {
		daemon_format_addr(&ss, host, sizeof(host));
		log_msg(POLICY_LOG_INFO, "admin listening on %s", host);
	}
	return a;
oom:
	admin_free(a);
	snprintf(err, errsz, "out of memory");
	return NULL;
}

void admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	if (a->http)
		evhttp_free(a->http);
	free(a);
}
