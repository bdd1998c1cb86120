/*
 * exchange: one client request, from the decision to the last byte of the
 * answer. Proxied requests go to the upstream and stream back with their
 * CORS and Vary headers rewritten. Owns the upstream call and a policy
 * reference; exchange_end is the one teardown for every way it can finish.
 */
#ifndef CORSD_EXCHANGE_H
#define CORSD_EXCHANGE_H

#include <stdbool.h>
#include <stdint.h>
#include <event2/http.h>
#include "cors.h"
#include "upstream.h"
#include "worker.h"

struct exchange {
	struct worker *w;
	struct evhttp_request *req; /* NULL once evhttp took it back */
	struct evhttp_connection *evcon;
	struct conn *conn;     /* NULL when untracked or once it closed */
	struct policy *policy; /* the reference this request runs under */
	struct upstream_call *call;
	uint64_t start_ns;
	int status;        /* what the client got */
	char upstream[32]; /* upstream status or error, for the log */
	uint64_t bytes;    /* body bytes sent to the client */
	bool head_sent, paused;
	bool watching; /* watch_client changed the connection's callbacks */
	char peer[64]; /* the client's address, without brackets */
	uint16_t peer_port;
	struct exchange *next_spare; /* in the worker's list of spares */
	/* The decision borrows the facts, which borrow req's headers. */
	struct cors_facts facts;
	struct cors_decision dec;
};

/* A new exchange for req under the worker's current policy; NULL on OOM. */
struct exchange *exchange_new(struct worker *w, struct evhttp_request *req);
/* Frees the worker's spare exchanges (at the worker's end). */
void exchange_free_spares(struct worker *w);
/* Proxy req to the rule's upstream; the exchange ends itself. */
void exchange_proxy(struct exchange *ex);
/* Answer locally with the decision's headers, then end; close: close the
 * client connection afterwards. */
void exchange_reply(struct exchange *ex, int status, const char *body, bool close);
/* The client connection closed under the exchange (called by conn): abort
 * the upstream call and end. */
void exchange_client_gone(struct exchange *ex);

#endif
