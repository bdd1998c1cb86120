/*
 * The evhttp side of a request. evhttp has parsed the head and read the
 * whole body by the time front_handle runs; what it lets through that SPEC
 * rule 7 forbids (ambiguous framing, a missing or repeated Host, header
 * names that are not tokens, control characters in values) is refused here
 * with 400 before anything reaches the decision or the upstream.
 */
#include "front.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h> /* before event2, which defines TAILQ only if missing */
#include <time.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>

#include "exchange.h"
#include "hdr.h"
#include "log.h"
#include "mm.h"
#include "worker.h"

uint64_t front_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct str method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return STR_LIT("GET");
	case EVHTTP_REQ_POST:
		return STR_LIT("POST");
	case EVHTTP_REQ_HEAD:
		return STR_LIT("HEAD");
	case EVHTTP_REQ_PUT:
		return STR_LIT("PUT");
	case EVHTTP_REQ_DELETE:
		return STR_LIT("DELETE");
	case EVHTTP_REQ_OPTIONS:
		return STR_LIT("OPTIONS");
	case EVHTTP_REQ_TRACE:
		return STR_LIT("TRACE");
	case EVHTTP_REQ_PATCH:
		return STR_LIT("PATCH");
	case EVHTTP_REQ_CONNECT:
		break;
	}
	return STR_LIT("CONNECT");
}

void front_lines_init(struct front_lines *l, struct evkeyvalq *out)
{
	l->out = out;
	l->nlen = l->len = 0;
}

int front_lines_commit(struct front_lines *l)
{
	struct evkeyval *kv;

	if (l->nlen == 0)
		return 0;
	/* evhttp frees its entries itself: they come from its allocator. */
	kv = mm_event_alloc(sizeof(*kv));
	if (kv != NULL) {
		kv->key = mm_event_alloc(l->nlen + 1);
		kv->value = mm_event_alloc(l->len - l->nlen);
	}
	if (kv == NULL || kv->key == NULL || kv->value == NULL) {
		if (kv != NULL) {
			mm_event_free(kv->key);
			mm_event_free(kv->value);
		}
		mm_event_free(kv);
		return -1;
	}
	memcpy(kv->key, l->buf, l->nlen + 1);
	memcpy(kv->value, l->buf + l->nlen + 1, l->len - l->nlen - 1);
	kv->value[l->len - l->nlen - 1] = '\0';
	TAILQ_INSERT_TAIL(l->out, kv, next);
	l->nlen = l->len = 0;
	return 0;
}

int front_lines_add(struct front_lines *l, struct str name, struct str value)
{
	size_t need = name.n + value.n + 4;
	char *w;

	if (l->len + need >= sizeof(l->buf) && front_lines_commit(l) < 0)
		return -1;
	if (need >= sizeof(l->buf)) {
		/* One line longer than the buffer: an entry of its own. */
		char *s = malloc(name.n + value.n + 2);
		int rc;
		if (s == NULL)
			return -1;
		memcpy(s, name.p, name.n);
		s[name.n] = '\0';
		memcpy(s + name.n + 1, value.p, value.n);
		s[name.n + 1 + value.n] = '\0';
		rc = evhttp_add_header(l->out, s, s + name.n + 1);
		free(s);
		return rc;
	}
	w = l->buf + l->len;
	if (l->nlen == 0) {
		memcpy(w, name.p, name.n);
		w[name.n] = '\0';
		l->nlen = name.n;
		w += name.n + 1;
	} else {
		memcpy(w, "\r\n", 2);
		memcpy(w + 2, name.p, name.n);
		memcpy(w + 2 + name.n, ": ", 2);
		w += name.n + 4;
	}
	memcpy(w, value.p, value.n);
	w += value.n;
	*w = '\0';
	l->len = (size_t)(w - l->buf);
	return 0;
}

int front_add_cors_headers(struct front_lines *l, const struct cors_decision *d,
                           struct str upstream_vary)
{
	char value[256];
	char *vary;
	int rc;

	for (size_t i = 0; i < d->nheaders; i++)
		if (front_lines_add(l, str_c(d->headers[i].name), d->headers[i].value) < 0)
			return -1;
	if (d->nvary == 0 && upstream_vary.p == NULL)
		return 0;
	if (upstream_vary.p == NULL) {
		/* The decision's own tokens are distinct constants: no merge. */
		size_t len = 0;
		for (size_t i = 0; i < d->nvary; i++) {
			size_t n = strlen(d->vary[i]);
			if (len + n + 2 >= sizeof(value))
				break;
			if (i) {
				memcpy(value + len, ", ", 2);
				len += 2;
			}
			memcpy(value + len, d->vary[i], n);
			len += n;
		}
		return front_lines_add(l, STR_LIT("Vary"), (struct str){value, len});
	}
	vary = hdr_vary_merge(upstream_vary, d->vary, d->nvary);
	if (vary == NULL)
		return -1;
	rc = vary[0] != '\0' ? front_lines_add(l, STR_LIT("Vary"), str_c(vary)) : 0;
	free(vary);
	return rc;
}

void front_flush(struct evhttp_connection *evcon)
{
	struct bufferevent *bev;
	struct evbuffer *out;
	int rc;

	if (evcon == NULL)
		return;
	bev = evhttp_connection_get_bufferevent(evcon);
	out = bufferevent_get_output(bev);
	if (evbuffer_get_length(out) == 0)
		return;
	/* The bufferevent keeps its output's start frozen: only it drains. */
	evbuffer_unfreeze(out, 1);
	rc = evbuffer_write(out, bufferevent_getfd(bev));
	evbuffer_freeze(out, 1);
	/* Whatever is left, or an error, is the bufferevent's as usual. */
	if (rc >= 0 && evbuffer_get_length(out) == 0)
		bufferevent_trigger(bev, EV_WRITE, 0);
}

int front_add_date(struct worker *w, struct evkeyvalq *out)
{
	static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct timeval now;

	/* evhttp formats a Date for every answer (a tenth of a preflight's
	 * CPU); one per second per worker is enough. */
	event_base_gettimeofday_cached(w->base, &now);
	if (now.tv_sec != w->date_sec || w->date[0] == '\0') {
		struct tm tm;
		time_t t = now.tv_sec;
		gmtime_r(&t, &tm);
		snprintf(w->date, sizeof(w->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		         tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		w->date_sec = now.tv_sec;
	}
	return evhttp_add_header(out, "Date", w->date);
}

/* A Content-Length is 1*DIGIT (RFC 9110 section 8.6). evhttp reads it with
 * strtoll, which also takes "+5" or "-0": a proxy in front of corsd may
 * frame such a request otherwise. */
static bool is_digits(struct str s)
{
	if (s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
	return true;
}

/* SPEC rule 7. Returns NULL when the head may go on, else why not. */
static const char *check_head(struct evhttp_request *req, struct cors_facts *f)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct str content_length = STR_NULL;
	unsigned hosts = 0, connection = 0;
	bool te = false, body = false;

	for (struct evkeyval *h = in->tqh_first; h != NULL; h = h->next.tqe_next) {
		struct str name = str_c(h->key), value = str_c(h->value);

		if (!str_is_token(name))
			return "header name is not a token";
		if (str_has_ctl(value))
			return "header value has a control character";
		if (str_eq_ci(name, STR_LIT("Host"))) {
			hosts++;
		} else if (str_eq_ci(name, STR_LIT("Connection"))) {
			if (++connection > HDR_MAX_CONNECTION_LINES)
				return "too many Connection lines";
		} else if (str_eq_ci(name, STR_LIT("Transfer-Encoding"))) {
			/* evhttp decodes only a lone "chunked"; any other coding
			 * would leave the body to be read as the next request. */
			if (te || !str_eq_ci(str_trim_ows(value), STR_LIT("chunked")))
				return "unsupported Transfer-Encoding";
			te = true;
		} else if (str_eq_ci(name, STR_LIT("Content-Length"))) {
			struct str v = str_trim_ows(value);
			if (memchr(v.p, ',', v.n) ||
			    (content_length.p && !str_eq(content_length, v)))
				return "conflicting Content-Length";
			if (!is_digits(v))
				return "Content-Length is not a number";
			/* Identical lines say one thing (RFC 9110 section
			 * 8.6), and the upstream hears corsd's own. */
			content_length = v;
			for (size_t i = 0; i < v.n; i++)
				body = body || v.p[i] != '0';
		}
		cors_facts_add_header(f, name, value);
	}
	if (te && content_length.p)
		return "Transfer-Encoding with Content-Length";
	/* evhttp reads no body for these two: it would be read as the next
	 * request. */
	if ((te || body) && (cmd == EVHTTP_REQ_HEAD || cmd == EVHTTP_REQ_TRACE))
		return "a body on a HEAD or TRACE request";
	if (te && req->major == 1 && req->minor == 0)
		return "Transfer-Encoding in an HTTP/1.0 request";
	if (hosts > 1)
		return "more than one Host";
	if (hosts == 0 && evhttp_request_get_connection(req) != NULL) {
		if (req->major == 1 && req->minor >= 1)
			return "HTTP/1.1 request without Host";
	}
	return NULL;
}

void front_handle(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	struct exchange *ex;
	const char *uri = evhttp_request_get_uri(req);
	const char *why, *q, *head_bad = NULL;
	struct str path;

	ex = exchange_new(w, req);
	if (ex == NULL) {
		evhttp_send_error(req, 503, NULL);
		return;
	}
	if (ex->conn != NULL)
		head_bad = conn_head_done(ex->conn, req);
	/* evhttp never closes a CONNECT's connection, whatever the answer
	 * says, and reads the tunnel's bytes as requests: corsd refuses it
	 * as it would a GET (the type evhttp's answer follows), and the
	 * close then ends it. */
	if (head_bad == NULL && evhttp_request_get_command(req) == EVHTTP_REQ_CONNECT) {
		req->type = EVHTTP_REQ_GET;
		cors_facts_init(&ex->facts, STR_LIT("CONNECT"), uri ? str_c(uri) : STR_NULL);
		metrics_bad_request(&w->metrics);
		ex->dec.reason = CORS_REASON_BAD_REQUEST;
		ex->dec.detail = STR_LIT("CONNECT is not proxied");
		exchange_reply(ex, 501, "not implemented: CONNECT\n", true);
		return;
	}
	/* Only origin-form targets: corsd is a reverse proxy, and the path
	 * that selects a policy must be the path the upstream sees. */
	if (head_bad == NULL && (uri == NULL || uri[0] != '/')) {
		cors_facts_init(&ex->facts, method_name(evhttp_request_get_command(req)), STR_NULL);
		metrics_bad_request(&w->metrics);
		ex->dec.reason = CORS_REASON_BAD_REQUEST;
		exchange_reply(ex, 400, "bad request: the target must be a path\n", true);
		return;
	}
	q = uri ? strchr(uri, '?') : NULL;
	path = uri ? (struct str){uri, q ? (size_t)(q - uri) : strlen(uri)} : STR_NULL;
	cors_facts_init(&ex->facts, method_name(evhttp_request_get_command(req)), path);
	why = head_bad ? head_bad : check_head(req, &ex->facts);
	if (why != NULL) {
		char body[128];
		snprintf(body, sizeof(body), "bad request: %s\n", why);
		metrics_bad_request(&w->metrics);
		ex->dec.reason = CORS_REASON_BAD_REQUEST;
		ex->dec.detail = str_c(why); /* the access log says which check */
		/* Framing that cannot be trusted leaves the rest of the
		 * connection untrustworthy too: close it. */
		exchange_reply(ex, 400, body, true);
		return;
	}
	cors_decide(ex->policy, &ex->facts, &ex->dec);
	if (ex->dec.local_status != 0)
		exchange_reply(ex, ex->dec.local_status, ex->dec.body, false);
	else
		exchange_proxy(ex);
}
