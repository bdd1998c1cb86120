/*
 * upstream: corsd's HTTP/1.1 client on bufferevent and its keep-alive pool.
 *
 * Everything runs on one worker's event_base; nothing here is thread-safe.
 * A call owns at most one connection at a time. Every entry from libevent
 * (bufferevent callbacks, the call's timer and kick events) brackets its work
 * with call_enter/call_leave, so a user callback may abort the call and the
 * memory stays valid until the outermost entry returns: after any user
 * callback the code checks c->dead before touching anything else.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "upstream.h"

/* A response head (status line and headers) larger than this is refused. */
#define UPSTREAM_HEAD_MAX 65536
/* libevent stops reading a connection once this much is buffered; read_more
 * reads up to it in large chunks while a body streams. The body moves on at
 * once unless the call is paused (reading off), so this is a bound. */
#define UPSTREAM_READ_HIGH (128 * 1024)
/* Idle pooled connections are closed after this long: upstream servers drop
 * idle keep-alive connections on their own schedule, and a socket we would
 * find dead on reuse only costs a retry. */
#define UPSTREAM_IDLE_MS 30000
/* 1xx responses to skip before the final one; beyond it the upstream is
 * looping, not informing. */
#define UPSTREAM_MAX_INTERIM 32
/* Finished calls a pool keeps for reuse. */
#define UPSTREAM_SPARE_CALLS 32
/* Idempotent requests up to this size are kept for a retry and may use a
 * pooled connection. Larger ones always get a fresh connection instead: no
 * copy, and no stale-connection race that a retry would have to cover. */
#define UPSTREAM_RETRY_COPY_MAX 65536

struct upstream_conn {
	struct upstream_pool *pool;
	struct bufferevent *bev;
	char *key;
	struct upstream_call *call;        /* NULL while idle */
	bool idle;                         /* linked in pool->idle */
	struct upstream_conn *prev, *next; /* pool->idle, most recently used first */
};

struct upstream_pool {
	struct event_base *base;
	struct timeouts *timeouts;
	unsigned max_idle;
	struct upstream_conn *idle;
	/* Finished calls kept with their events and buffers: a call is about
	 * 4.5 KB, which malloc serves on its slow path. */
	struct upstream_call *spare;
	unsigned nspare;
};

enum call_phase {
	PH_CONNECT, /* a fresh connection is being made */
	PH_HEAD,    /* request written (or being written), waiting for the final head */
	PH_BODY,    /* on_head ran; streaming the body */
};

struct upstream_call {
	struct upstream_pool *pool;
	struct upstream_handlers h;
	void *arg;
	const char *host, *key; /* borrowed from the request (see upstream.h) */
	uint16_t port;
	bool head_request;
	unsigned connect_ms, response_ms;

	struct evbuffer *req; /* the request bytes, while a retry is possible */
	struct upstream_conn *conn;
	struct event *timer; /* connect timeout, then the deadline for the head */
	struct event *kick;  /* work that must run from the loop, not the caller */
	enum call_phase phase;

	bool reused;  /* conn came from the pool */
	bool retried; /* the one retry was spent */
	bool got_byte;
	bool head_sent;
	bool paused;
	bool eof;          /* the upstream closed (or reset: see reset) */
	bool reset;        /* the read side ended with an error, not a FIN */
	bool reset_seen;   /* read_more met that error first */
	bool write_failed; /* so the request may be incomplete */
	bool pending;      /* an error found inside upstream_call_start */
	enum upstream_error pending_err;

	int depth; /* entries from libevent on the stack */
	bool dead; /* over: no more callbacks; freed when depth drops to 0 */

	unsigned interim;
	size_t scanned; /* bytes of input already searched for the head's end */
	char *headbuf;  /* the final head's bytes: c->head points into them */
	uint64_t left;  /* RESP_BODY_LENGTH: body bytes still to come */
	struct resp_chunked ck;
	struct evbuffer *body; /* handed to on_body */
	struct upstream_call *next_spare;
	/* Last: resp_head_parse fills it whole, so a reused call need not
	 * clear its 4 KB. */
	struct resp_head head;
};

static void conn_readcb(struct bufferevent *bev, void *arg);
static void timer_cb(evutil_socket_t fd, short events, void *arg);
static void kick_cb(evutil_socket_t fd, short events, void *arg);
static void call_destroy(struct upstream_call *c);
static void conn_eventcb(struct bufferevent *bev, short what, void *arg);
static void call_process(struct upstream_call *c);

const char *upstream_error_name(enum upstream_error e)
{
	switch (e) {
	case UPSTREAM_ERR_CONNECT:
		return "connect";
	case UPSTREAM_ERR_CONNECT_TIMEOUT:
		return "connect_timeout";
	case UPSTREAM_ERR_TIMEOUT:
		return "timeout";
	case UPSTREAM_ERR_PROTOCOL:
		return "protocol";
	case UPSTREAM_ERR_CLOSED:
		return "closed";
	}
	return "unknown";
}

/* ---- connections and the pool ---- */

static void idle_unlink(struct upstream_conn *conn)
{
	if (conn->prev)
		conn->prev->next = conn->next;
	else
		conn->pool->idle = conn->next;
	if (conn->next)
		conn->next->prev = conn->prev;
	conn->idle = false;
	conn->prev = conn->next = NULL;
}

/* The one teardown for a connection, idle or not. */
static void conn_close(struct upstream_conn *conn)
{
	if (conn->idle)
		idle_unlink(conn);
	/* Safe inside this bufferevent's own callback: libevent holds a
	 * reference until the callback returns. */
	if (conn->bev)
		bufferevent_free(conn->bev);
	free(conn->key);
	free(conn);
}

/* An idle connection is watched for stray bytes and EOF, but the loop may
 * run a client's request before the event that reports them: bytes the
 * upstream sent after its last response would then be read as the answer to
 * the next request. Ask the kernel before every reuse. */
static bool conn_quiet(const struct upstream_conn *conn)
{
	char byte;
	ssize_t n = recv(bufferevent_getfd(conn->bev), &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

static struct upstream_conn *pool_take(struct upstream_pool *pool, const char *key)
{
	struct upstream_conn *conn, *next;

	for (conn = pool->idle; conn; conn = next) {
		next = conn->next;
		if (strcmp(conn->key, key) != 0)
			continue;
		if (conn_quiet(conn))
			break;
		conn_close(conn);
	}
	if (conn == NULL)
		return NULL;
	idle_unlink(conn);
	bufferevent_set_timeouts(conn->bev, NULL, NULL);
	return conn;
}

static void pool_put(struct upstream_conn *conn)
{
	struct upstream_pool *pool = conn->pool;
	struct upstream_conn *it, *oldest = NULL;
	unsigned same = 0;

	if (pool->max_idle == 0) {
		conn_close(conn);
		return;
	}
	conn->call = NULL;
	conn->idle = true;
	conn->prev = NULL;
	conn->next = pool->idle;
	if (pool->idle)
		pool->idle->prev = conn;
	pool->idle = conn;
	/* Watch it while idle: EOF, an error, a stray byte or the idle timeout
	 * all close it (conn_readcb / conn_eventcb with no call). */
	bufferevent_set_timeouts(conn->bev, timeouts_get(pool->timeouts, UPSTREAM_IDLE_MS), NULL);
	bufferevent_enable(conn->bev, EV_READ);

	for (it = pool->idle; it; it = it->next) {
		if (strcmp(it->key, conn->key) == 0) {
			same++;
			oldest = it;
		}
	}
	if (same > pool->max_idle)
		conn_close(oldest);
}

struct upstream_pool *upstream_pool_new(struct event_base *base, struct timeouts *timeouts,
                                        unsigned max_idle)
{
	struct upstream_pool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	pool->base = base;
	pool->timeouts = timeouts;
	pool->max_idle = max_idle;
	return pool;
}

void upstream_pool_free(struct upstream_pool *pool)
{
	if (pool == NULL)
		return;
	while (pool->idle)
		conn_close(pool->idle);
	while (pool->spare) {
		struct upstream_call *c = pool->spare;
		pool->spare = c->next_spare;
		call_destroy(c);
	}
	free(pool);
}

/* Opens a fresh connection for c and queues the request on it. Returns -1
 * when that failed at once; no callback has run then. */
static int call_connect(struct upstream_call *c)
{
	struct addrinfo hints, *ai = NULL;
	struct upstream_conn *conn = NULL;
	char port[8];
	evutil_socket_t fd = -1;
	int one = 1;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)c->port);
	rc = getaddrinfo(c->host, port, &hints, &ai);
	if (rc == EAI_NONAME) {
		/* A host name: this lookup blocks the worker. Upstreams are
		 * expected to be IP literals or names in /etc/hosts. */
		hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
		rc = getaddrinfo(c->host, port, &hints, &ai);
	}
	if (rc != 0 || ai == NULL)
		goto fail;

	conn = calloc(1, sizeof(*conn));
	if (conn == NULL)
		goto fail;
	conn->pool = c->pool;
	conn->key = strdup(c->key);
	if (conn->key == NULL)
		goto fail;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	/* Heads and small bodies go out in one write; Nagle would hold the
	 * last segment of each back for an ACK. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn->bev = bufferevent_socket_new(c->pool->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (conn->bev == NULL)
		goto fail;
	fd = -1;
	/* The callbacks are set only after the connect call: when it fails at
	 * once, libevent runs the event callback right away, which would be a
	 * callback from inside upstream_call_start. A refusal it detects at
	 * once is deferred by libevent and reaches the callbacks set below. */
	if (bufferevent_socket_connect(conn->bev, ai->ai_addr, (int)ai->ai_addrlen) < 0)
		goto fail;
	bufferevent_setcb(conn->bev, conn_readcb, NULL, conn_eventcb, conn);
	bufferevent_setwatermark(conn->bev, EV_READ, 0, UPSTREAM_READ_HIGH);
	/* Queued now, written as soon as the connection is up. The bytes move:
	 * a fresh connection is never retried, so no copy is kept. */
	if (evbuffer_add_buffer(bufferevent_get_output(conn->bev), c->req) < 0)
		goto fail;
	freeaddrinfo(ai);

	conn->call = c;
	c->conn = conn;
	c->reused = false;
	c->phase = PH_CONNECT;
	if (c->connect_ms)
		evtimer_add(c->timer, timeouts_get(c->pool->timeouts, c->connect_ms));
	return 0;

fail:
	if (fd >= 0)
		evutil_closesocket(fd);
	if (conn)
		conn_close(conn);
	if (ai)
		freeaddrinfo(ai);
	return -1;
}

/* The request is on its way: the response deadline starts. */
static void call_wait_head(struct upstream_call *c)
{
	c->phase = PH_HEAD;
	if (c->response_ms) {
		evtimer_add(c->timer, timeouts_get(c->pool->timeouts, c->response_ms));
	} else {
		evtimer_del(c->timer);
	}
	/* Enabling writes with nothing to write costs two epoll_ctl calls
	 * and a loop turn for libevent to find the buffer empty. */
	if (evbuffer_get_length(bufferevent_get_output(c->conn->bev)) > 0)
		bufferevent_enable(c->conn->bev, EV_WRITE);
	if (!c->paused)
		bufferevent_enable(c->conn->bev, EV_READ);
}

/* Sends the request on a pooled connection, keeping the bytes for a retry. */
static int call_send_reused(struct upstream_call *c, struct upstream_conn *conn)
{
	struct evbuffer *out = bufferevent_get_output(conn->bev);
	size_t len = evbuffer_get_length(c->req);
	unsigned char *p = evbuffer_pullup(c->req, -1);
	ssize_t sent = 0;

	if (p == NULL && len > 0)
		return -1;
	/* The connection is up and idle: write at once. Through the
	 * bufferevent the bytes would wait a loop turn for a writable event.
	 * Whatever did not go (or an error) is left to the bufferevent, which
	 * reports a failure the usual way (and the call may retry). */
	if (evbuffer_get_length(out) == 0) {
		sent = send(bufferevent_getfd(conn->bev), p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (sent < 0)
			sent = 0;
	}
	if ((size_t)sent < len && evbuffer_add(out, p + sent, len - (size_t)sent) < 0)
		return -1;
	conn->call = c;
	c->conn = conn;
	c->reused = true;
	bufferevent_setcb(conn->bev, conn_readcb, NULL, conn_eventcb, conn);
	call_wait_head(c);
	return 0;
}

/* ---- the call's lifetime ---- */

static void call_destroy(struct upstream_call *c)
{
	if (c->timer)
		event_free(c->timer);
	if (c->kick)
		event_free(c->kick);
	if (c->req)
		evbuffer_free(c->req);
	if (c->body)
		evbuffer_free(c->body);
	free(c->headbuf);
	free(c);
}

static void call_free(struct upstream_call *c)
{
	struct upstream_pool *pool = c->pool;

	if (pool->nspare >= UPSTREAM_SPARE_CALLS || c->timer == NULL || c->kick == NULL ||
	    c->req == NULL || c->body == NULL) {
		call_destroy(c);
		return;
	}
	free(c->headbuf);
	c->headbuf = NULL;
	evbuffer_drain(c->req, evbuffer_get_length(c->req));
	evbuffer_drain(c->body, evbuffer_get_length(c->body));
	c->next_spare = pool->spare;
	pool->spare = c;
	pool->nspare++;
}

/* A zeroed call, from the spares when there is one; NULL on OOM. */
static struct upstream_call *call_new(struct upstream_pool *pool)
{
	struct upstream_call *c = pool->spare;
	struct event *timer, *kick;
	struct evbuffer *req, *body;

	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return NULL;
		c->pool = pool;
		c->req = evbuffer_new();
		c->body = evbuffer_new();
		c->timer = evtimer_new(pool->base, timer_cb, c);
		c->kick = event_new(pool->base, -1, 0, kick_cb, c);
		if (!c->req || !c->body || !c->timer || !c->kick) {
			call_destroy(c);
			return NULL;
		}
		return c;
	}
	pool->spare = c->next_spare;
	pool->nspare--;
	timer = c->timer, kick = c->kick, req = c->req, body = c->body;
	memset(c, 0, offsetof(struct upstream_call, head));
	c->pool = pool;
	c->timer = timer, c->kick = kick, c->req = req, c->body = body;
	return c;
}

static void call_enter(struct upstream_call *c)
{
	c->depth++;
}

static void call_leave(struct upstream_call *c)
{
	if (--c->depth == 0 && c->dead)
		call_free(c);
}

/* The one teardown for a call: its connection goes back to the pool or is
 * closed, and the call is freed now or when the outermost entry returns. */
static void call_release(struct upstream_call *c, bool reuse)
{
	struct upstream_conn *conn = c->conn;

	c->conn = NULL;
	if (conn) {
		conn->call = NULL;
		if (reuse)
			pool_put(conn);
		else
			conn_close(conn);
	}
	event_del(c->timer);
	event_del(c->kick);
	c->dead = true;
	if (c->depth == 0)
		call_free(c);
}

static void call_fail(struct upstream_call *c, enum upstream_error err)
{
	struct upstream_handlers h = c->h;
	void *arg = c->arg;
	bool head_sent = c->head_sent;

	call_release(c, false);
	if (h.on_error)
		h.on_error(arg, err, head_sent);
}

/* The body is complete. The connection is released before on_end, so a call
 * started from on_end can already reuse it. */
static void call_finish(struct upstream_call *c)
{
	struct upstream_handlers h = c->h;
	void *arg = c->arg;
	struct bufferevent *bev = c->conn->bev;
	/* Leftover input would be the start of a response nobody asked for;
	 * leftover output a request the upstream may still be reading. */
	bool reuse = c->head.keep_alive && !c->eof && !c->write_failed &&
	             evbuffer_get_length(bufferevent_get_input(bev)) == 0 &&
	             evbuffer_get_length(bufferevent_get_output(bev)) == 0;

	call_release(c, reuse);
	if (h.on_end)
		h.on_end(arg);
}

static bool call_can_retry(const struct upstream_call *c)
{
	return c->phase == PH_HEAD && c->reused && !c->retried && !c->got_byte &&
	       evbuffer_get_length(c->req) > 0;
}

/* A pooled connection died before any byte of the response: most likely the
 * upstream closed it while idle, before it saw our request. */
static void call_retry(struct upstream_call *c)
{
	struct upstream_conn *old = c->conn;

	c->conn = NULL;
	old->call = NULL;
	conn_close(old);
	c->retried = true;
	c->eof = c->reset = c->reset_seen = c->write_failed = false;
	c->scanned = 0;
	if (call_connect(c) < 0)
		call_fail(c, UPSTREAM_ERR_CONNECT);
}

/* ---- reading the response ---- */

/* Returns 0 when a head was consumed (and the caller should look for more),
 * 1 when more bytes are needed, -1 when the call ended. */
static int head_step(struct upstream_call *c)
{
	struct evbuffer *in = bufferevent_get_input(c->conn->bev);
	size_t len = evbuffer_get_length(in);
	size_t want, from, end;
	const char *p;

	if (len == 0)
		return 1;
	if (!c->got_byte) {
		/* The upstream answered: this request is never sent again. */
		c->got_byte = true;
		evbuffer_drain(c->req, evbuffer_get_length(c->req));
	}
	want = len < UPSTREAM_HEAD_MAX ? len : UPSTREAM_HEAD_MAX;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
	if (p == NULL) {
		call_fail(c, UPSTREAM_ERR_CLOSED);
		return -1;
	}
	/* Resume the search a few bytes back: a blank line is at most 3 bytes
	 * and may straddle the previous end. */
	from = c->scanned > 3 ? c->scanned - 3 : 0;
	end = resp_head_end(p + from, want - from);
	if (end == 0) {
		c->scanned = want;
		if (want >= UPSTREAM_HEAD_MAX) {
			call_fail(c, UPSTREAM_ERR_PROTOCOL);
			return -1;
		}
		return 1;
	}
	end += from;
	c->scanned = 0;

	free(c->headbuf);
	c->headbuf = malloc(end);
	if (c->headbuf == NULL) {
		call_fail(c, UPSTREAM_ERR_CLOSED);
		return -1;
	}
	evbuffer_remove(in, c->headbuf, end);
	/* 101 would switch protocols, and corsd never forwards Upgrade. */
	if (resp_head_parse(c->headbuf, end, c->head_request, &c->head) < 0 ||
	    c->head.status == 101) {
		call_fail(c, UPSTREAM_ERR_PROTOCOL);
		return -1;
	}
	if (c->head.status < 200) {
		if (++c->interim > UPSTREAM_MAX_INTERIM) {
			call_fail(c, UPSTREAM_ERR_PROTOCOL);
			return -1;
		}
		return 0;
	}

	evtimer_del(c->timer);
	c->phase = PH_BODY;
	c->head_sent = true;
	c->left = c->head.content_length;
	resp_chunked_init(&c->ck);
	if (c->response_ms) {
		/* From here on the timeout is between reads, and it stops
		 * while the call is paused (reading disabled). */
		bufferevent_set_timeouts(c->conn->bev,
		                         timeouts_get(c->pool->timeouts, c->response_ms), NULL);
	}
	if (c->h.on_head)
		c->h.on_head(c->arg, &c->head);
	return c->dead ? -1 : 0;
}

/* Moves decoded chunk data from in to c->body. Only the framing bytes are
 * looked at; data spans move chain by chain, never pulled up. */
static int chunked_move(struct upstream_call *c, struct evbuffer *in, bool *got)
{
	while (!c->ck.done && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		const char *data;
		size_t used, dlen, skip;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			return 0;
		if (v.iov_len == 0) {
			/* An empty first chain: make some bytes contiguous. */
			size_t n = evbuffer_get_length(in);

			v.iov_base = evbuffer_pullup(in, (ev_ssize_t)(n < 64 ? n : 64));
			v.iov_len = n < 64 ? n : 64;
			if (v.iov_base == NULL)
				return -1;
		}
		if (resp_chunked_step(&c->ck, v.iov_base, v.iov_len, &used, &data, &dlen) < 0)
			return -1;
		if (used == 0)
			break;
		skip = dlen > 0 ? (size_t)(data - (const char *)v.iov_base) : used;
		evbuffer_drain(in, skip);
		if (dlen > 0) {
			if (evbuffer_remove_buffer(in, c->body, dlen) != (int)dlen)
				return -1;
			*got = true;
		}
	}
	return 0;
}

static bool body_complete(const struct upstream_call *c)
{
	switch (c->head.framing) {
	case RESP_BODY_NONE:
		return true;
	case RESP_BODY_LENGTH:
		return c->left == 0;
	case RESP_BODY_CHUNKED:
		return c->ck.done;
	case RESP_BODY_CLOSE:
		break;
	}
	return false;
}

static void body_step(struct upstream_call *c)
{
	struct evbuffer *in = bufferevent_get_input(c->conn->bev);
	size_t n = evbuffer_get_length(in);
	bool got = false, bad_framing = false;

	if (!c->paused && n > 0) {
		switch (c->head.framing) {
		case RESP_BODY_NONE:
			break;
		case RESP_BODY_LENGTH:
			if ((uint64_t)n > c->left)
				n = (size_t)c->left;
			if (n > 0) {
				if (evbuffer_remove_buffer(in, c->body, n) != (int)n) {
					call_fail(c, UPSTREAM_ERR_CLOSED);
					return;
				}
				c->left -= n;
				got = true;
			}
			break;
		case RESP_BODY_CHUNKED:
			/* Chunks decoded before the bad framing still go out, as
			 * they would had the bad bytes come in a later read. */
			bad_framing = chunked_move(c, in, &got) < 0;
			break;
		case RESP_BODY_CLOSE:
			evbuffer_add_buffer(c->body, in);
			got = true;
			break;
		}
	}
	if (got && c->h.on_body) {
		c->h.on_body(c->arg, c->body);
		if (c->dead)
			return;
	}
	if (bad_framing) {
		call_fail(c, UPSTREAM_ERR_PROTOCOL);
		return;
	}
	/* on_end even when paused: it adds no data, and it frees the
	 * connection for the next request sooner. */
	if (body_complete(c)) {
		call_finish(c);
		return;
	}
	if (c->eof && evbuffer_get_length(in) == 0) {
		if (c->head.framing == RESP_BODY_CLOSE && !c->reset)
			call_finish(c);
		else
			call_fail(c, UPSTREAM_ERR_CLOSED);
	}
}

static void call_process(struct upstream_call *c)
{
	int r = 0;

	while (c->phase == PH_HEAD && (r = head_step(c)) == 0)
		;
	if (r < 0 || c->dead)
		return;
	if (c->phase == PH_HEAD) {
		if (c->eof) {
			if (call_can_retry(c))
				call_retry(c);
			else
				call_fail(c, UPSTREAM_ERR_CLOSED);
		}
		return;
	}
	body_step(c);
}

/* ---- entries from libevent ---- */

/* libevent 2.1 reads at most 4 KiB per readable event: a body would cost
 * an epoll round and two system calls per 4 KiB. While a body streams,
 * read on up to UPSTREAM_READ_HIGH in large chunks. EOF and errors are left
 * for the bufferevent to find on its next read. */
static void read_more(struct upstream_call *c, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	evutil_socket_t fd = bufferevent_getfd(bev);

	/* A socket bufferevent keeps its input's end frozen: only it adds. */
	evbuffer_unfreeze(in, 0);
	while (evbuffer_get_length(in) < UPSTREAM_READ_HIGH) {
		struct evbuffer_iovec v[2];
		int n = evbuffer_reserve_space(
		    in, (ev_ssize_t)(UPSTREAM_READ_HIGH - evbuffer_get_length(in)), v, 2);
		size_t room = 0, left;
		ssize_t got;

		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			room += v[i].iov_len;
		/* evbuffer_iovec is struct iovec on every POSIX system. */
		got = readv(fd, (struct iovec *)v, n);
		left = got > 0 ? (size_t)got : 0;
		for (int i = 0; i < n; i++) {
			v[i].iov_len = left < v[i].iov_len ? left : v[i].iov_len;
			left -= v[i].iov_len;
		}
		evbuffer_commit_space(in, v, n);
		/* A reset is reported once: the bufferevent would then see a
		 * plain EOF, and a close-delimited body would look complete. */
		if (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			c->reset_seen = true;
		if (got <= 0 || (size_t)got < room)
			break; /* drained, or EOF for the bufferevent to find */
	}
	evbuffer_freeze(in, 0);
}

static void conn_readcb(struct bufferevent *bev, void *arg)
{
	struct upstream_conn *conn = arg;
	struct upstream_call *c = conn->call;

	if (c == NULL) {
		/* Bytes on an idle connection: nothing we asked for. */
		conn_close(conn);
		return;
	}
	if (c->phase == PH_BODY && !c->paused)
		read_more(c, bev);
	call_enter(c);
	call_process(c);
	call_leave(c);
}

static void conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream_conn *conn = arg;
	struct upstream_call *c = conn->call;
	int err = EVUTIL_SOCKET_ERROR();

	if (c == NULL) {
		conn_close(conn);
		return;
	}
	call_enter(c);
	if (c->phase == PH_CONNECT) {
		if (what & BEV_EVENT_CONNECTED)
			call_wait_head(c);
		else
			call_fail(c, err == ETIMEDOUT ? UPSTREAM_ERR_CONNECT_TIMEOUT
			                              : UPSTREAM_ERR_CONNECT);
	} else if (what & BEV_EVENT_TIMEOUT) {
		call_fail(c, UPSTREAM_ERR_TIMEOUT);
	} else if (what & BEV_EVENT_WRITING) {
		/* The upstream stopped taking the request. If it answered
		 * anyway (an early 4xx), the read side still delivers it and
		 * tells how it ended; write_failed keeps the connection out of
		 * the pool. */
		c->write_failed = true;
		if (call_can_retry(c) && evbuffer_get_length(bufferevent_get_input(bev)) == 0)
			call_retry(c);
	} else {
		c->eof = true;
		c->reset = (what & BEV_EVENT_ERROR) != 0 || c->reset_seen;
		call_process(c);
	}
	call_leave(c);
}

static void timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct upstream_call *c = arg;

	call_enter(c);
	call_fail(c, c->phase == PH_CONNECT ? UPSTREAM_ERR_CONNECT_TIMEOUT : UPSTREAM_ERR_TIMEOUT);
	call_leave(c);
}

static void kick_cb(evutil_socket_t fd, short events, void *arg)
{
	struct upstream_call *c = arg;

	call_enter(c);
	if (c->pending)
		call_fail(c, c->pending_err);
	else if (c->conn && c->phase != PH_CONNECT)
		call_process(c);
	call_leave(c);
}

/* ---- the API ---- */

struct upstream_call *upstream_call_start(struct upstream_pool *pool,
                                          const struct upstream_request *req,
                                          const struct upstream_handlers *h, void *arg)
{
	struct upstream_call *c = call_new(pool);
	struct upstream_conn *conn = NULL;

	if (c == NULL)
		return NULL;
	c->h = *h;
	c->arg = arg;
	c->port = req->port;
	c->head_request = req->head_request;
	c->connect_ms = req->connect_ms;
	c->response_ms = req->response_ms;
	c->host = req->host;
	c->key = req->key;
	if (evbuffer_add_buffer(c->req, req->data) < 0)
		goto oom;

	/* A pooled connection can die under the request, and only a retry
	 * hides that; a request that may not be repeated (RFC 9110 section
	 * 9.2.2) takes a fresh connection, which is never retried. */
	if (req->idempotent && evbuffer_get_length(c->req) <= UPSTREAM_RETRY_COPY_MAX)
		conn = pool_take(pool, c->key);
	if (conn && call_send_reused(c, conn) < 0) {
		conn_close(conn);
		conn = NULL;
	}
	if (conn == NULL && call_connect(c) < 0) {
		c->pending = true;
		c->pending_err = UPSTREAM_ERR_CONNECT;
		event_active(c->kick, EV_TIMEOUT, 1);
	}
	return c;

oom:
	call_free(c);
	return NULL;
}

void upstream_call_pause(struct upstream_call *c)
{
	if (c->dead || c->paused)
		return;
	c->paused = true;
	if (c->conn && c->phase != PH_CONNECT)
		bufferevent_disable(c->conn->bev, EV_READ);
}

void upstream_call_resume(struct upstream_call *c)
{
	if (c->dead || !c->paused)
		return;
	c->paused = false;
	if (c->conn == NULL || c->phase == PH_CONNECT)
		return;
	if (!c->eof)
		bufferevent_enable(c->conn->bev, EV_READ);
	/* Bytes that arrived before the pause wait in the input buffer and no
	 * read event will come for them; process them from the loop, not from
	 * inside the caller. */
	if (c->eof || evbuffer_get_length(bufferevent_get_input(c->conn->bev)) > 0)
		event_active(c->kick, EV_TIMEOUT, 1);
}

void upstream_call_abort(struct upstream_call *c)
{
	if (c == NULL || c->dead)
		return;
	call_release(c, false);
}
