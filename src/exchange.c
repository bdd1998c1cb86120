/*
 * One request from the decision to the last byte of its answer. The one
 * teardown is exchange_end: every path (local answer, upstream done,
 * upstream failed, client gone) ends there exactly once, and writes the
 * access-log line.
 */
#include "exchange.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "front.h"
#include "hdr.h"
#include "log.h"

/* Above this many bytes waiting for the client, stop reading the upstream:
 * a slow client must never make corsd hold a whole body. */
#define EXCHANGE_CLIENT_HWM (256 * 1024)
/* What a client may send ahead (pipelining) while its answer is pending. */
#define EXCHANGE_CLIENT_READ_SLACK (64 * 1024)
/* Finished exchanges a worker keeps for reuse (about 13 KB each). */
#define EXCHANGE_SPARES 32

static void exchange_end(struct exchange *ex);

struct exchange *exchange_new(struct worker *w, struct evhttp_request *req)
{
	struct exchange *ex = w->spare;
	char *addr = NULL;
	ev_uint16_t port = 0;

	/* An exchange is about 13 KB: from malloc, that size takes the slow
	 * path (and consolidates the fast bins) on every request. */
	if (ex != NULL) {
		w->spare = ex->next_spare;
		w->nspare--;
	} else if ((ex = malloc(sizeof(*ex))) == NULL) {
		return NULL;
	}
	memset(ex, 0, offsetof(struct exchange, facts));
	ex->w = w;
	ex->req = req;
	ex->evcon = evhttp_request_get_connection(req);
	ex->conn = conn_of(w, ex->evcon);
	if (ex->conn)
		conn_request_begin(ex->conn, ex);
	ex->policy = policy_ref(w->policy);
	ex->start_ns = front_now_ns();
	strcpy(ex->upstream, "-");
	cors_facts_init(&ex->facts, STR_NULL, STR_NULL);
	cors_decision_reset(&ex->dec);
	if (ex->evcon)
		evhttp_connection_get_peer(ex->evcon, &addr, &port);
	if (addr == NULL || strlen(addr) >= sizeof(ex->peer))
		addr = "-";
	memcpy(ex->peer, addr, strlen(addr) + 1);
	ex->peer_port = port;
	return ex;
}

static void log_access(const struct exchange *ex)
{
	const struct cors_decision *d = &ex->dec;
	const struct cors_facts *f = &ex->facts;
	char status[16], bytes[24], dur[32], worker[16], client[sizeof(ex->peer) + 8];
	struct log_kv kv[18];
	size_t n = 0;
	uint64_t ns = front_now_ns() - ex->start_ns;

	if (!ex->policy->log_access)
		return;
	snprintf(client, sizeof(client), strchr(ex->peer, ':') ? "[%s]:%u" : "%s:%u", ex->peer,
	         ex->peer_port);
	snprintf(status, sizeof(status), "%d", ex->status);
	snprintf(worker, sizeof(worker), "%d", ex->w->index);
	snprintf(bytes, sizeof(bytes), "%" PRIu64, ex->bytes);
	snprintf(dur, sizeof(dur), "%" PRIu64 ".%03" PRIu64, ns / 1000000, ns / 1000 % 1000);
	kv[n++] = (struct log_kv){"client", str_c(client), false};
	kv[n++] = (struct log_kv){"worker", str_c(worker), true};
	kv[n++] = (struct log_kv){"method", f->method, false};
	kv[n++] = (struct log_kv){"path", f->path.p ? f->path : STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"host", f->host.p ? f->host : STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"origin", f->origin.p ? f->origin : STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"status", str_c(status), true};
	kv[n++] = (struct log_kv){"policy", str_c(d->rule ? d->rule->name : "-"), false};
	kv[n++] = (struct log_kv){"kind", str_c(cors_kind_name(d->kind)), false};
	kv[n++] = (struct log_kv){"verdict", str_c(cors_verdict_name(d->verdict)), false};
	kv[n++] = (struct log_kv){"reason", str_c(cors_reason_name(d->reason)), false};
	if (d->detail.p)
		kv[n++] = (struct log_kv){"detail", d->detail, false};
	if (d->hint[0])
		kv[n++] = (struct log_kv){"hint", str_c(d->hint), false};
	if (d->origin_rule)
		kv[n++] = (struct log_kv){"origin_rule", str_c(d->origin_rule), false};
	if (d->report_only)
		kv[n++] = (struct log_kv){"report_only", STR_LIT("true"), false};
	kv[n++] = (struct log_kv){"upstream", str_c(ex->upstream), false};
	kv[n++] = (struct log_kv){"bytes", str_c(bytes), true};
	kv[n++] = (struct log_kv){"duration_ms", str_c(dur), true};
	log_kv(POLICY_LOG_INFO, "access", kv, n);
}

/* on_error passes upstream's error straight to metrics. */
_Static_assert((int)METRICS_UERR_CONNECT == (int)UPSTREAM_ERR_CONNECT &&
                   (int)METRICS_UERR_CONNECT_TIMEOUT == (int)UPSTREAM_ERR_CONNECT_TIMEOUT &&
                   (int)METRICS_UERR_TIMEOUT == (int)UPSTREAM_ERR_TIMEOUT &&
                   (int)METRICS_UERR_PROTOCOL == (int)UPSTREAM_ERR_PROTOCOL &&
                   (int)METRICS_UERR_CLOSED == (int)UPSTREAM_ERR_CLOSED,
               "metrics and upstream name the upstream errors in the same order");

void exchange_free_spares(struct worker *w)
{
	while (w->spare) {
		struct exchange *ex = w->spare;
		w->spare = ex->next_spare;
		free(ex);
	}
	w->nspare = 0;
}

static void count(struct exchange *ex)
{
	static const enum metrics_kind kinds[] = {
	    [CORS_KIND_PLAIN] = METRICS_PLAIN,
	    [CORS_KIND_ACTUAL] = METRICS_ACTUAL,
	    [CORS_KIND_PREFLIGHT] = METRICS_PREFLIGHT,
	};
	static const enum metrics_outcome outcomes[] = {
	    [CORS_VERDICT_NONE] = METRICS_NONE,
	    [CORS_VERDICT_ALLOW] = METRICS_ALLOWED,
	    [CORS_VERDICT_DENY] = METRICS_DENIED,
	};
	const struct policy_rule *r = ex->dec.rule;

	metrics_request(&ex->w->metrics, r, r ? r->name : NULL, kinds[ex->dec.kind],
	                outcomes[ex->dec.verdict], front_now_ns() - ex->start_ns);
}

/* The log line reads the request's headers through the facts, so this
 * runs before the request goes back to evhttp (which may free it at once). */
static void exchange_end(struct exchange *ex)
{
	log_access(ex);
	count(ex);
	if (ex->conn) {
		/* A draining worker closes each connection after its answer. */
		struct evkeyvalq *out = ex->req ? evhttp_request_get_output_headers(ex->req) : NULL;
		if (ex->w->draining && out && !evhttp_find_header(out, "Connection"))
			evhttp_add_header(out, "Connection", "close");
		conn_request_end(ex->conn);
	}
	policy_unref(ex->policy);
	if (ex->w->nspare < EXCHANGE_SPARES) {
		ex->next_spare = ex->w->spare;
		ex->w->spare = ex;
		ex->w->nspare++;
	} else {
		free(ex);
	}
}

/* While the upstream thinks, evhttp does not read the client, so it would
 * not notice the client leave. Switch the connection into the state evhttp
 * itself uses while it writes (read enabled, no read callback): an EOF then
 * frees the connection and our close callback ends the exchange. The read
 * timeout is off until the answer is complete: a client waiting on a slow
 * upstream, or reading a long stream, is not idle (libevent #715). */
static void watch_client(struct exchange *ex)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(ex->evcon);
	bufferevent_data_cb rcb, wcb;
	bufferevent_event_cb ecb;
	void *cbarg;

	bufferevent_getcb(bev, &rcb, &wcb, &ecb, &cbarg);
	bufferevent_setcb(bev, NULL, wcb, ecb, cbarg);
	bufferevent_setwatermark(bev, EV_READ, 0,
	                         ex->policy->max_header_bytes + EXCHANGE_CLIENT_READ_SLACK);
	bufferevent_set_timeouts(bev, NULL, timeouts_get(&ex->w->timeouts, ex->policy->client_ms));
	/* libevent's default writes a streamed body 16 KiB per writable
	 * event; let one write take what backpressure allows to queue. */
	bufferevent_set_max_single_write(bev, EXCHANGE_CLIENT_HWM);
	bufferevent_enable(bev, EV_READ);
	ex->watching = true;
}

static void unwatch_client(struct exchange *ex)
{
	struct bufferevent *bev;
	const struct timeval *tv;

	if (ex->evcon == NULL || !ex->watching)
		return;
	ex->watching = false;
	bev = evhttp_connection_get_bufferevent(ex->evcon);
	tv = timeouts_get(&ex->w->timeouts, ex->policy->client_ms);
	bufferevent_set_timeouts(bev, tv, tv);
	/* evhttp reads a Content-Length body only once all of it is in the
	 * input buffer: the next request's body must not meet our mark. */
	bufferevent_setwatermark(bev, EV_READ, 0, 0);
}

static const char *status_phrase(int status)
{
	switch (status) {
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 413:
		return "Payload Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	}
	return NULL;
}

void exchange_reply(struct exchange *ex, int status, const char *body, bool close)
{
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct evkeyvalq *out = evhttp_request_get_output_headers(ex->req);
	struct evbuffer *buf = NULL;
	struct front_lines *lines = &ex->w->lines;

	unwatch_client(ex);
	front_lines_init(lines, out);
	if (front_add_cors_headers(lines, &ex->dec, STR_NULL) < 0 ||
	    front_lines_commit(lines) < 0 || front_add_date(ex->w, out) < 0)
		goto fail;
	/* An answer to HEAD has no body, but evhttp would send one: the
	 * client would read it as the start of the next response. */
	if (evhttp_request_get_command(ex->req) == EVHTTP_REQ_HEAD)
		body = NULL;
	/* Most local answers (a 204 preflight) have no body: no buffer. */
	if (body && body[0]) {
		buf = evbuffer_new();
		if (buf == NULL || evbuffer_add(buf, body, strlen(body)) < 0)
			goto fail;
		evhttp_add_header(out, "Content-Type", "text/plain; charset=utf-8");
	}
	if (close)
		evhttp_add_header(out, "Connection", "close");
	ex->status = status;
	ex->bytes = buf ? evbuffer_get_length(buf) : 0;
	req = ex->req;
	evcon = ex->evcon;
	exchange_end(ex);
	evhttp_send_reply(req, status, status_phrase(status), buf);
	if (buf)
		evbuffer_free(buf);
	front_flush(evcon);
	return;
fail:
	if (buf)
		evbuffer_free(buf);
	ex->status = 503;
	req = ex->req;
	exchange_end(ex);
	evhttp_send_error(req, 503, NULL);
}

/* ---- the client went away ---- */

void exchange_client_gone(struct exchange *ex)
{
	struct evhttp_request *req = ex->req;

	ex->conn = NULL; /* going away with the connection */
	if (ex->call) {
		upstream_call_abort(ex->call);
		ex->call = NULL;
	}
	if (!ex->head_sent)
		ex->status = 499; /* nginx's "client closed request" */
	snprintf(ex->upstream + strlen(ex->upstream), sizeof(ex->upstream) - strlen(ex->upstream),
	         "%s", "/client-closed");
	exchange_end(ex);
	/* evhttp detaches a request whose connection failed before the answer
	 * was complete; nobody else will free it then. An attached one is
	 * freed by evhttp right after this callback. */
	if (req && evhttp_request_get_connection(req) == NULL)
		evhttp_request_free(req);
}

/* ---- the upstream's answer ---- */

/* The upstream's header lines that go to the client: everything but
 * hop-by-hop headers (and those its Connection names), its Access-Control-*
 * (corsd's decision replaces them) and Vary (merged). */
static bool pass_upstream_header(const struct resp_head *h, struct str name)
{
	if (hdr_is_hop_by_hop(name) || hdr_is_access_control(name) ||
	    str_eq_ci(name, STR_LIT("Vary")))
		return false;
	if (h->framing == RESP_BODY_CHUNKED && str_eq_ci(name, STR_LIT("Content-Length")))
		return false;
	for (size_t i = 0; i < h->nheaders; i++)
		if (str_eq_ci(h->headers[i].name, STR_LIT("Connection")) &&
		    hdr_list_has(h->headers[i].value, name))
			return false;
	return true;
}

static char *join_vary(const struct resp_head *h)
{
	size_t len = 0, n = 0;
	char *out;

	for (size_t i = 0; i < h->nheaders; i++)
		if (str_eq_ci(h->headers[i].name, STR_LIT("Vary")))
			len += h->headers[i].value.n + 1, n++;
	if (n == 0)
		return NULL;
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	len = 0;
	for (size_t i = 0; i < h->nheaders; i++) {
		if (!str_eq_ci(h->headers[i].name, STR_LIT("Vary")))
			continue;
		if (len)
			out[len++] = ',';
		memcpy(out + len, h->headers[i].value.p, h->headers[i].value.n);
		len += h->headers[i].value.n;
	}
	out[len] = '\0';
	return out;
}

/* One header as its own evhttp entry (evhttp copies both strings). */
static int add_header_str(struct evkeyvalq *out, struct str name, struct str value)
{
	char small[2048], *buf = small;
	int rc;

	if (name.n + value.n + 2 > sizeof(small)) {
		buf = malloc(name.n + value.n + 2);
		if (buf == NULL)
			return -1;
	}
	memcpy(buf, name.p, name.n);
	buf[name.n] = '\0';
	memcpy(buf + name.n + 1, value.p, value.n);
	buf[name.n + 1 + value.n] = '\0';
	rc = evhttp_add_header(out, buf, buf + name.n + 1);
	if (buf != small)
		free(buf);
	return rc;
}

static void on_head(void *arg, const struct resp_head *h)
{
	struct exchange *ex = arg;
	struct evkeyvalq *out = evhttp_request_get_output_headers(ex->req);
	char *vary = join_vary(h);
	char reason[128];
	bool has_length = false, has_date = false;
	struct front_lines *lines = &ex->w->lines;

	front_lines_init(lines, out);
	for (size_t i = 0; i < h->nheaders; i++) {
		struct str name = h->headers[i].name;
		if (!pass_upstream_header(h, name))
			continue;
		/* The headers evhttp looks up stay entries of their own. */
		if (str_eq_ci(name, STR_LIT("Content-Length")))
			has_length = true;
		else if (str_eq_ci(name, STR_LIT("Date")))
			has_date = true;
		else if (!str_eq_ci(name, STR_LIT("Content-Type"))) {
			front_lines_add(lines, name, h->headers[i].value);
			continue;
		}
		add_header_str(out, name, h->headers[i].value);
	}
	front_add_cors_headers(lines, &ex->dec, vary ? str_c(vary) : STR_NULL);
	front_lines_commit(lines);
	free(vary);
	if (!has_date)
		front_add_date(ex->w, out);

	/* An HTTP/1.0 client cannot take chunks: without a length the body
	 * ends when the connection does. */
	if (!has_length && ex->req->major == 1 && ex->req->minor == 0) {
		evhttp_remove_header(evhttp_request_get_input_headers(ex->req), "Connection");
		evhttp_add_header(out, "Connection", "close");
	}
	if (h->reason.n > 0) {
		size_t n = h->reason.n < sizeof(reason) - 1 ? h->reason.n : sizeof(reason) - 1;
		memcpy(reason, h->reason.p, n);
		reason[n] = '\0';
	} else {
		snprintf(reason, sizeof(reason), "%s",
		         status_phrase(h->status) ? status_phrase(h->status) : "Status");
	}
	/* The head goes out now: a draining worker's "close" must be in it. */
	if (ex->w->draining && !evhttp_find_header(out, "Connection"))
		evhttp_add_header(out, "Connection", "close");
	ex->status = h->status;
	ex->head_sent = true;
	metrics_upstream_status(&ex->w->metrics, h->status);
	snprintf(ex->upstream, sizeof(ex->upstream), "%d", h->status);
	evhttp_send_reply_start(ex->req, h->status, reason);
}

static void on_client_drained(struct evhttp_connection *evcon, void *arg)
{
	struct exchange *ex = arg;

	if (ex->paused && ex->call) {
		ex->paused = false;
		upstream_call_resume(ex->call);
	}
}

static void on_body(void *arg, struct evbuffer *body)
{
	struct exchange *ex = arg;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(ex->evcon);

	ex->bytes += evbuffer_get_length(body);
	evhttp_send_reply_chunk_with_cb(ex->req, body, on_client_drained, ex);
	/* A body evhttp will not send (HEAD, 204, 304) must not pile up. */
	evbuffer_drain(body, evbuffer_get_length(body));
	if (!ex->paused && evbuffer_get_length(bufferevent_get_output(bev)) > EXCHANGE_CLIENT_HWM) {
		ex->paused = true;
		upstream_call_pause(ex->call);
	}
}

static void on_end(void *arg)
{
	struct exchange *ex = arg;
	struct evhttp_request *req = ex->req;
	struct evhttp_connection *evcon = ex->evcon;
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
	/* With nothing left to write and no last chunk to add, evhttp ends
	 * the request inside evhttp_send_reply_end (and may free the
	 * connection): then there is nothing to flush either. */
	bool flush = req->chunked || evbuffer_get_length(bufferevent_get_output(bev)) > 0;

	ex->call = NULL;
	unwatch_client(ex);
	exchange_end(ex);
	evhttp_send_reply_end(req);
	if (flush)
		front_flush(evcon);
}

static void linger_flushed(struct bufferevent *bev, void *arg)
{
	evhttp_connection_free(arg);
}

static void linger_event(struct bufferevent *bev, short what, void *arg)
{
	evhttp_connection_free(arg);
}

/* A response cut by its upstream: what already came still goes out (the
 * client then sees a short body or a chunked body with no last chunk,
 * either way an unmistakable truncation), then the connection closes.
 * evhttp has no "close after flush" for a reply in progress, so the
 * connection's callbacks are taken over for its last moments. */
static void close_after_flush(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		evhttp_connection_free(evcon);
		return;
	}
	bufferevent_setcb(bev, NULL, linger_flushed, linger_event, evcon);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_disable(bev, EV_READ);
	bufferevent_enable(bev, EV_WRITE);
}

static void on_error(void *arg, enum upstream_error err, bool head_sent)
{
	struct exchange *ex = arg;
	bool timeout = err == UPSTREAM_ERR_TIMEOUT || err == UPSTREAM_ERR_CONNECT_TIMEOUT;
	struct evhttp_connection *evcon;
	char body[96];

	ex->call = NULL;
	snprintf(ex->upstream, sizeof(ex->upstream), "%s", upstream_error_name(err));
	metrics_upstream_error(&ex->w->metrics, (enum metrics_upstream_error)err);
	if (!head_sent) {
		snprintf(body, sizeof(body), "corsd: upstream %s\n",
		         timeout ? "timed out" : "failed");
		exchange_reply(ex, timeout ? 504 : 502, body, false);
		return;
	}
	/* The status is gone already; only closing tells the client. */
	evcon = ex->evcon;
	unwatch_client(ex);
	exchange_end(ex);
	close_after_flush(evcon);
}

static const struct upstream_handlers exchange_handlers = {
    .on_head = on_head,
    .on_body = on_body,
    .on_end = on_end,
    .on_error = on_error,
};

/* ---- the request toward the upstream ---- */

/* The client's Connection lines (the front let at most
 * HDR_MAX_CONNECTION_LINES through), gathered once so that checking each
 * header against them stays linear in the number of headers. */
struct conn_lines {
	size_t n;
	struct str v[HDR_MAX_CONNECTION_LINES];
};

static void conn_lines_collect(struct evkeyvalq *in, struct conn_lines *cl)
{
	cl->n = 0;
	for (struct evkeyval *h = in->tqh_first; h != NULL; h = h->next.tqe_next)
		if (strcasecmp(h->key, "Connection") == 0 && cl->n < HDR_MAX_CONNECTION_LINES)
			cl->v[cl->n++] = str_c(h->value);
}

static bool conn_lines_name(const struct conn_lines *cl, struct str name)
{
	for (size_t i = 0; i < cl->n; i++)
		if (hdr_list_has(cl->v[i], name))
			return true;
	return false;
}

/* Appends the concatenation of a NULL-terminated list of strings in one
 * evbuffer_add: printf costs several times more per header line. */
static int add_cat(struct evbuffer *out, const char *const *parts)
{
	char line[4096];
	size_t len = 0;

	for (; *parts; parts++) {
		size_t n = strlen(*parts);
		if (n > sizeof(line) - len) {
			/* Rare: a huge header. Flush and add the long part
			 * directly. */
			if (evbuffer_add(out, line, len) < 0 || evbuffer_add(out, *parts, n) < 0)
				return -1;
			len = 0;
			continue;
		}
		memcpy(line + len, *parts, n);
		len += n;
	}
	return evbuffer_add(out, line, len);
}

#define ADD_CAT(out, ...) add_cat(out, (const char *const[]){__VA_ARGS__, NULL})

/* Host is passed unchanged; hop-by-hop headers, those named by Connection,
 * the client's framing and Expect (the body is already here) are not. */
static int serialize_request(struct exchange *ex, const struct policy_upstream *up,
                             struct evbuffer *out)
{
	struct evhttp_request *req = ex->req;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	const char *xff = NULL, *xfp = NULL, *xfh = NULL, *host = NULL;
	size_t body_len = evbuffer_get_length(body);
	bool framed = false;
	struct conn_lines cl;
	const struct str m = ex->facts.method;
	int rc = 0;

	rc |= evbuffer_add_printf(out, "%.*s %s%s HTTP/1.1\r\n", (int)m.n, m.p, up->base_path,
	                          evhttp_request_get_uri(req));
	conn_lines_collect(in, &cl);
	for (struct evkeyval *h = in->tqh_first; h != NULL; h = h->next.tqe_next) {
		struct str name = str_c(h->key);
		if (str_eq_ci(name, STR_LIT("Content-Length")) ||
		    str_eq_ci(name, STR_LIT("Transfer-Encoding"))) {
			framed = true;
			continue;
		}
		if (hdr_is_hop_by_hop(name) || str_eq_ci(name, STR_LIT("Expect")) ||
		    conn_lines_name(&cl, name))
			continue;
		if (ex->policy->forwarded) {
			if (str_eq_ci(name, STR_LIT("X-Forwarded-For"))) {
				xff = h->value; /* extended below */
				continue;
			}
			if (str_eq_ci(name, STR_LIT("X-Forwarded-Proto")))
				xfp = h->value;
			if (str_eq_ci(name, STR_LIT("X-Forwarded-Host")))
				xfh = h->value;
		}
		if (str_eq_ci(name, STR_LIT("Host")))
			host = h->value;
		rc |= ADD_CAT(out, h->key, ": ", h->value, "\r\n");
	}
	if (ex->policy->forwarded) {
		const char *ip = ex->peer; /* X-Forwarded-For lists bare IPs */
		if (xff)
			rc |= ADD_CAT(out, "X-Forwarded-For: ", xff, ", ", ip, "\r\n");
		else
			rc |= ADD_CAT(out, "X-Forwarded-For: ", ip, "\r\n");
		/* An outer proxy's word on scheme and host is kept: it saw the
		 * original request, corsd did not. */
		if (!xfp)
			rc |= ADD_CAT(out, "X-Forwarded-Proto: http\r\n");
		if (!xfh && host)
			rc |= ADD_CAT(out, "X-Forwarded-Host: ", host, "\r\n");
	}
	/* Only an HTTP/1.0 client may leave Host out; the upstream hears
	 * HTTP/1.1, which requires one. */
	if (!host)
		rc |= ADD_CAT(out, "Host: ", up->hostport, "\r\n");
	if (body_len > 0 || framed)
		rc |= evbuffer_add_printf(out, "Content-Length: %zu\r\n", body_len);
	rc |= evbuffer_add(out, "\r\n", 2);
	rc |= evbuffer_add_buffer(out, body);
	return rc < 0 ? -1 : 0;
}

void exchange_proxy(struct exchange *ex)
{
	const struct policy_rule *r = ex->dec.rule;
	const struct policy_upstream *up = r && r->upstream ? r->upstream : &ex->policy->upstream;
	struct upstream_request ureq;
	struct evbuffer *out = evbuffer_new();

	if (out == NULL || serialize_request(ex, up, out) < 0)
		goto fail;
	ureq = (struct upstream_request){
	    .host = up->host,
	    .port = up->port,
	    .key = up->hostport,
	    .data = out,
	    .head_request = evhttp_request_get_command(ex->req) == EVHTTP_REQ_HEAD,
	    .idempotent =
	        !(evhttp_request_get_command(ex->req) & (EVHTTP_REQ_POST | EVHTTP_REQ_PATCH)),
	    .connect_ms = ex->policy->connect_ms,
	    .response_ms = ex->policy->upstream_ms,
	};
	ex->call = upstream_call_start(ex->w->pool, &ureq, &exchange_handlers, ex);
	if (ex->call == NULL)
		goto fail;
	evbuffer_free(out);
	watch_client(ex);
	return;
fail:
	if (out)
		evbuffer_free(out);
	snprintf(ex->upstream, sizeof(ex->upstream), "oom");
	exchange_reply(ex, 502, "corsd: upstream failed\n", false);
}
