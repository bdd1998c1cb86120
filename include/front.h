/*
 * front: the evhttp side of a request: checks what evhttp lets through,
 * gathers the CORS facts, and hands the request to an exchange. Also the
 * helpers every answer shares: CORS headers on a reply, the access log.
 */
#ifndef CORSD_FRONT_H
#define CORSD_FRONT_H

#include <stdint.h>
#include <event2/http.h>
#include "cors.h"

/* The evhttp generic callback; arg is the struct worker. */
void front_handle(struct evhttp_request *req, void *arg);

/*
 * Output header lines gathered into one evhttp entry. evhttp prints each
 * entry of a response with its own printf (a fifth of a proxied request's
 * instructions) and looks only a few up by name: Content-Length, Date,
 * Connection, Transfer-Encoding and Content-Type must not go here. Names
 * must be tokens and values free of CR, LF and NUL: the response parser and
 * the policy guarantee it, and evhttp_add_header is what checks otherwise.
 * Lives on the stack between init and commit.
 */
struct front_lines {
	struct evkeyvalq *out;
	size_t nlen; /* length of the entry's name (the first line's); 0: empty */
	size_t len;
	char buf[8192]; /* "Name1\0value1\r\nName2: value2..." */
};

void front_lines_init(struct front_lines *l, struct evkeyvalq *out);
int front_lines_add(struct front_lines *l, struct str name, struct str value);
/* Hands the lines to evhttp as one entry. Returns 0, -1 on OOM. */
int front_lines_commit(struct front_lines *l);

/* Adds the decision's CORS headers and a Vary merged from `upstream_vary`
 * (STR_NULL when none) and the decision's tokens. Returns 0, -1 on OOM. */
int front_add_cors_headers(struct front_lines *l, const struct cors_decision *d,
                           struct str upstream_vary);

/* Adds a Date header from the worker's per-second cache (evhttp would
 * format one per answer). Returns 0, -1 on OOM. */
struct worker;
int front_add_date(struct worker *w, struct evkeyvalq *out);

/* evhttp writes an answer only on the next writable event: two epoll_ctl
 * calls (write on, then off) and a loop turn per answer. Call this right
 * after the answer's last byte was handed to evhttp: it writes now, and when
 * everything went, runs evhttp's write-done step at once (as evhttp itself
 * does when nothing is left to write), so the writable event is taken back
 * before libevent ever tells the kernel. evhttp may free the request and
 * the connection inside: touch neither afterwards. */
void front_flush(struct evhttp_connection *evcon);

uint64_t front_now_ns(void);

#endif
