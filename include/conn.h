/*
 * conn: the client connections of one worker, which evhttp does not expose:
 * their count (behind max_connections and the open-connections gauge), the
 * request each is serving, a deadline for the next request to arrive whole
 * (evhttp's own timeout restarts on every byte, so a slowloris head would
 * never be cut), and closing them when the worker drains.
 * Used only from the worker's own thread.
 */
#ifndef CORSD_CONN_H
#define CORSD_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>

struct worker;
struct exchange;

/* One client connection; owned by its worker's table, freed when evhttp
 * closes the connection. */
struct conn {
	struct worker *w;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	struct exchange *ex; /* the request being served, or NULL */
	struct event deadline;
	int fd;
	bool refused; /* over max_connections: closed as soon as adopted */
};

struct conn_table {
	struct conn **by_fd; /* connections indexed by their socket */
	size_t cap;
	size_t n;
	/* Connections evhttp made since the last adoption pass: their evhttp
	 * object exists only once evhttp_get_request returns. */
	struct conn **fresh;
	size_t nfresh, capfresh;
	struct event *adopt;
};

/* Hooks the worker's evhttp; 0 or -1 (OOM). */
int conn_setup(struct worker *w);
/* Closes every connection (calling their close handlers) and frees the table. */
void conn_teardown(struct worker *w);

/* The connection evcon belongs to; NULL if unknown (should not happen). */
struct conn *conn_of(struct worker *w, struct evhttp_connection *evcon);
/* A request arrived whole: its deadline is over. */
void conn_request_begin(struct conn *c, struct exchange *ex);
/* Its answer is complete or handed to evhttp: wait for the next one. */
void conn_request_end(struct conn *c);
/* Drain: connections with no request close now (or once their last answer
 * is flushed), the others when their request ends. */
void conn_drain(struct worker *w);

#endif
