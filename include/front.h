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

/* Adds the decision's CORS headers and a Vary merged from `upstream_vary`
 * (STR_NULL when none) and the decision's tokens. Returns 0, -1 on OOM. */
int front_add_cors_headers(struct evkeyvalq *out, const struct cors_decision *d,
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
