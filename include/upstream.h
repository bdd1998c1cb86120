/*
 * upstream: corsd's own HTTP/1.1 client on bufferevent, one pool of idle
 * keep-alive connections per worker (per event_base; not thread-safe).
 * It writes a request the exchange serialised, parses the response head
 * (skipping 1xx), decodes the body (Content-Length, chunked, or until close)
 * and hands it over as it arrives. It tells a refused connection (502) from
 * a timeout (504), and retries once on a fresh connection when a reused one
 * failed before any byte of the response.
 */
#ifndef CORSD_UPSTREAM_H
#define CORSD_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include "resp.h"
#include "timeouts.h"

struct upstream_pool;
struct upstream_call;

/* max_idle: idle connections kept per upstream host:port. The pool uses
 * (does not own) the loop's timeouts. */
struct upstream_pool *upstream_pool_new(struct event_base *base, struct timeouts *timeouts,
                                        unsigned max_idle);
/* Closes idle connections; every call must have ended or been aborted. */
void upstream_pool_free(struct upstream_pool *pool);

enum upstream_error {
	UPSTREAM_ERR_CONNECT,         /* refused, unreachable, reset while connecting: 502 */
	UPSTREAM_ERR_CONNECT_TIMEOUT, /* no connection within connect_ms: 504 */
	UPSTREAM_ERR_TIMEOUT,         /* no response head within response_ms: 504 */
	UPSTREAM_ERR_PROTOCOL,        /* malformed head or body framing: 502 */
	UPSTREAM_ERR_CLOSED,          /* closed or reset before the response ended: 502 */
};
const char *upstream_error_name(enum upstream_error e); /* "connect", "timeout", ... */

/* host and key are borrowed: they must stay valid until the call ends
 * (on_end, on_error) or is aborted. */
struct upstream_request {
	const char *host; /* IP literal or name, without brackets */
	uint16_t port;
	const char *key; /* pool key, e.g. "127.0.0.1:9000" */
	/* The serialised request: head and body with corsd's own framing. The
	 * call takes the bytes (drains this buffer) and keeps them for a retry. */
	struct evbuffer *data;
	bool head_request; /* HEAD: the response has no body whatever it says */
	/* The method may be repeated (RFC 9110 section 9.2.2): only then may
	 * the call use a pooled connection, and retry when that one fails. */
	bool idempotent;
	unsigned connect_ms, response_ms;
};

/* Callbacks. After on_end or on_error the call is over and freed: the caller
 * must drop its pointer. upstream_call_pause/resume/abort may be called from
 * inside on_head and on_body. */
struct upstream_handlers {
	/* The final (non-1xx) response head; valid only during the call. */
	void (*on_head)(void *arg, const struct resp_head *head);
	/* Decoded body bytes: the callee moves them out of `body`. */
	void (*on_body)(void *arg, struct evbuffer *body);
	/* The body ended; the connection went back to the pool if reusable. */
	void (*on_end)(void *arg);
	/* The call failed; head_sent tells whether on_head ran. */
	void (*on_error)(void *arg, enum upstream_error err, bool head_sent);
};

/* Starts the call; NULL on OOM (nothing was called). Callbacks never run
 * from inside upstream_call_start itself. */
struct upstream_call *upstream_call_start(struct upstream_pool *pool,
                                          const struct upstream_request *req,
                                          const struct upstream_handlers *h, void *arg);
/* Backpressure: stop / restart reading the upstream (the client's output
 * is above / back under its high-water mark). */
void upstream_call_pause(struct upstream_call *c);
void upstream_call_resume(struct upstream_call *c);
/* The client went away: close the connection, free the call, and never
 * call back again. */
void upstream_call_abort(struct upstream_call *c);

#endif
