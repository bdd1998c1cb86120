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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http_struct.h>

#include "exchange.h"
#include "front.h"
#include "log.h"
#include "worker.h"

/* While draining, a connection still flushing its last answer is looked at
 * again this often. */
#define CONN_DRAIN_POLL_MS 10

static void arm(struct conn *c, unsigned ms)
{
	event_add(&c->deadline, timeouts_get(&c->w->timeouts, ms));
}

/* Where the next byte of a request head falls. */
enum { HEAD_REQUEST_LINE, HEAD_LINE_START, HEAD_FIELD, HEAD_END };

static void head_reset(struct conn_head *h)
{
	h->bad = NULL;
	h->state = HEAD_REQUEST_LINE;
	h->cr = false;
	h->nline = 0;
	h->start_ns = 0;
}

static void head_refuse(struct conn_head *h, const char *why)
{
	h->bad = why;
	h->state = HEAD_END;
}

/* The head's grammar as far as framing goes (RFC 9112 section 2.2): lines
 * end with CRLF, a field line never starts with whitespace, and nothing in
 * a head is NUL. Field values' other characters are front.c's concern, on
 * what evhttp parsed; the request line reaches the upstream as it came, so
 * it is checked here: no control characters (HTAB included) and no DEL. */
/* Where the plain run starting at p[i] ends: bytes that need a look are
 * below 0x0e inside a field line (NUL, CR, LF) and below 0x20 or DEL in the
 * request line. Eight bytes at a time: a head is mostly plain bytes. */
static size_t plain_run(const unsigned char *p, size_t i, size_t n, bool request_line)
{
	const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
	const uint64_t below = ones * (request_line ? 0x20 : 0x0e);

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	for (; i + 8 <= n; i += 8) {
		uint64_t x, d, m;
		memcpy(&x, p + i, 8);
		d = x ^ (ones * 0x7f);
		/* The lowest flagged byte is the first to look at: a borrow
		 * only runs upward from it. */
		m = ((x - below) & ~x & highs) | (request_line ? (d - ones) & ~d & highs : 0);
		if (m != 0)
			return i + ((size_t)__builtin_ctzll(m) >> 3);
	}
#endif
	while (i < n && p[i] >= (request_line ? 0x20 : 0x0e) && !(request_line && p[i] == 0x7f))
		i++;
	return i;
}

static void head_feed(struct conn_head *h, const unsigned char *p, size_t n)
{
	if (h->start_ns == 0 && n > 0)
		h->start_ns = front_now_ns();
	for (size_t i = 0; i < n; i++) {
		unsigned char b;

		if (h->state == HEAD_REQUEST_LINE && !h->cr) {
			size_t end = plain_run(p, i, n, true);
			size_t keep = sizeof(h->line) - h->nline;
			keep = end - i < keep ? end - i : keep;
			memcpy(h->line + h->nline, p + i, keep);
			h->nline += (unsigned char)keep;
			if ((i = end) == n)
				return;
		} else if (h->state == HEAD_FIELD && !h->cr &&
		           (i = plain_run(p, i, n, false)) == n) {
			return;
		}
		b = p[i];
		if (h->cr && b != '\n')
			return head_refuse(h, "a CR not followed by LF");
		if (b == '\n') {
			if (!h->cr)
				return head_refuse(h, "a line ending in a bare LF");
			h->cr = false;
			if (h->state == HEAD_LINE_START) {
				h->state = HEAD_END;
				return;
			}
			h->state = HEAD_LINE_START;
			continue;
		}
		if (b == '\r') {
			h->cr = true;
			continue;
		}
		if (b == '\0')
			return head_refuse(h, "a NUL byte in the head");
		if (h->state == HEAD_REQUEST_LINE) {
			return head_refuse(h, "a control character in the request line");
		} else if (h->state == HEAD_LINE_START) {
			if (b == ' ' || b == '\t')
				return head_refuse(
				    h, "obs-fold (a header line starting with whitespace)");
			h->state = HEAD_FIELD;
		}
	}
}

/* Checks len bytes of buf from offset start, as long as the head lasts. */
static void head_scan(struct conn_head *h, struct evbuffer *buf, size_t start, size_t len)
{
	struct evbuffer_ptr pos, *at = NULL; /* NULL: the start (usually) */
	struct evbuffer_iovec v[8];

	if (start > 0) {
		if (evbuffer_ptr_set(buf, &pos, start, EVBUFFER_PTR_SET) < 0)
			return;
		at = &pos;
	}
	while (len > 0 && h->state != HEAD_END) {
		int k = evbuffer_peek(buf, (ev_ssize_t)len, at, v, 8);
		size_t done = 0;

		if (k <= 0)
			return;
		for (int i = 0; i < k && i < 8 && done < len && h->state != HEAD_END; i++) {
			size_t m = v[i].iov_len < len - done ? v[i].iov_len : len - done;
			head_feed(h, v[i].iov_base, m);
			done += m;
		}
		len -= done;
		start += done;
		if (len == 0 || evbuffer_ptr_set(buf, &pos, start, EVBUFFER_PTR_SET) < 0)
			return;
		at = &pos;
	}
}

/* Every read from the client ends here before evhttp parses it. */
static void on_input(struct evbuffer *in, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	size_t len;

	if (info->n_added == 0 || c->head.state == HEAD_END)
		return;
	len = evbuffer_get_length(in);
	if (info->n_added <= len)
		head_scan(&c->head, in, len - info->n_added, info->n_added);
}

/* Enabled only while no request is in front_handle's hands: what is written
 * then is evhttp's own answer (a refusal, or a 100 Continue). evhttp writes
 * its status line, each header, the blank line and the body with one add
 * each. */
static void on_output(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
	struct conn *c = arg;
	char line[13];
	size_t len = evbuffer_get_length(out);
	struct evbuffer_ptr pos;
	int code;

	if (info->n_added == 0 || info->n_added > len)
		return;
	if (c->own_status != 0) {
		if (c->own_body)
			c->own_bytes += info->n_added;
		else if (info->n_added == 2)
			c->own_body = true; /* the "\r\n" that ends the head */
		return;
	}
	if (info->n_added < 12 ||
	    evbuffer_ptr_set(out, &pos, len - info->n_added, EVBUFFER_PTR_SET) < 0 ||
	    evbuffer_copyout_from(out, &pos, line, 12) != 12)
		return;
	line[12] = '\0';
	if (memcmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ')
		return;
	code = atoi(line + 9);
	if (code >= 200)
		c->own_status = code;
}

static void on_answered(struct evhttp_request *req, void *arg)
{
	struct conn *c = arg;

	evbuffer_cb_set_flags(bufferevent_get_output(c->bev), c->out_cb, EVBUFFER_CB_ENABLED);
}

/* The access-log line of a request evhttp refused before corsd saw it, in
 * the shape of exchange.c's (and as undecided as corsd's own 400s). Only
 * the request line's start is known. */
static void log_own_answer(struct conn *c)
{
	const struct conn_head *h = &c->head;
	char client[80], status[16], worker[16], bytes[24], dur[32], method[40], path[100];
	const char *why;
	char *addr = NULL;
	ev_uint16_t port = 0;
	const char *sp = memchr(h->line, ' ', h->nline);
	size_t mlen = sp ? (size_t)(sp - h->line) : h->nline, plen = 0;
	const char *pp = sp ? sp + 1 : NULL;
	uint64_t ns = h->start_ns ? front_now_ns() - h->start_ns : 0;
	struct log_kv kv[16];
	size_t n = 0;

	if (!c->w->policy->log_access)
		return;
	if (pp) {
		while (pp + plen < h->line + h->nline && pp[plen] != ' ' && pp[plen] != '?')
			plen++;
	}
	/* A request line longer than what was kept says so. */
	snprintf(method, sizeof(method), "%.*s%s", (int)(mlen < 32 ? mlen : 32), h->line,
	         mlen > 32 || (!sp && h->nline == sizeof(h->line)) ? "..." : "");
	snprintf(path, sizeof(path), "%.*s%s", (int)plen, pp ? pp : "",
	         pp && pp + plen == h->line + sizeof(h->line) ? "..." : "");
	evhttp_connection_get_peer(c->evcon, &addr, &port);
	if (addr == NULL)
		addr = "-";
	snprintf(client, sizeof(client), strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr, port);
	snprintf(status, sizeof(status), "%d", c->own_status);
	snprintf(worker, sizeof(worker), "%d", c->w->index);
	snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)c->own_bytes);
	snprintf(dur, sizeof(dur), "%llu.%03llu", (unsigned long long)(ns / 1000000),
	         (unsigned long long)(ns / 1000 % 1000));
	switch (c->own_status) {
	case 400:
		why = "refused by evhttp: a malformed request, or a head over max_header_bytes";
		break;
	case 413:
		why = "refused by evhttp: a body over max_body_bytes";
		break;
	case 417:
		why = "refused by evhttp: an Expect other than 100-continue";
		break;
	case 501:
		why = "refused by evhttp: a method it does not implement";
		break;
	default:
		why = "refused by evhttp";
	}
	kv[n++] = (struct log_kv){"client", str_c(client), false};
	kv[n++] = (struct log_kv){"worker", str_c(worker), true};
	kv[n++] = (struct log_kv){"method", mlen ? str_c(method) : STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"path", plen ? str_c(path) : STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"host", STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"origin", STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"status", str_c(status), true};
	kv[n++] = (struct log_kv){"policy", STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"kind", STR_LIT("plain"), false};
	kv[n++] = (struct log_kv){"verdict", STR_LIT("none"), false};
	kv[n++] = (struct log_kv){"reason", STR_LIT("bad_request"), false};
	kv[n++] = (struct log_kv){"detail", str_c(h->bad ? h->bad : why), false};
	kv[n++] = (struct log_kv){"upstream", STR_LIT("-"), false};
	kv[n++] = (struct log_kv){"bytes", str_c(bytes), true};
	kv[n++] = (struct log_kv){"duration_ms", str_c(dur), true};
	log_kv(POLICY_LOG_INFO, "access", kv, n);
}

const char *conn_head_done(struct conn *c, struct evhttp_request *req)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	const char *bad = c->head.bad;

	/* A head cut short by a NUL line ends before our scan saw its end. */
	if (bad == NULL && c->head.state != HEAD_END)
		bad = "a head that evhttp ended early";
	evbuffer_cb_clear_flags(bufferevent_get_output(c->bev), c->out_cb, EVBUFFER_CB_ENABLED);
	evhttp_request_set_on_complete_cb(req, on_answered, c);
	/* evhttp has taken this request's bytes: what is left is the next. */
	head_reset(&c->head);
	head_scan(&c->head, in, 0, evbuffer_get_length(in));
	return bad;
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;
	struct worker *w = c->w;
	struct conn_table *t = &w->conns;

	if (c->own_status != 0) {
		metrics_bad_request(&w->metrics);
		log_own_answer(c);
	}
	if (c->in_cb)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->out_cb)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
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
		head_reset(&c->head);
		c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
		c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev), on_output, c);
		event_assign(&c->deadline, w->base, -1, 0, on_deadline, c);
		evhttp_connection_set_closecb(c->evcon, on_close, c);
		/* Without its checks (no memory for them), a connection is
		 * not served. */
		if (c->refused || w->draining || c->in_cb == NULL || c->out_cb == NULL) {
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
