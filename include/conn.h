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
#include <stdint.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <event2/http.h>

struct worker;
struct exchange;
struct evbuffer_cb_entry;

/*
 * The raw bytes of the request head evhttp is reading, checked as they
 * arrive (evhttp keeps none of them). evhttp takes a bare LF as a line end,
 * joins obs-fold lines, keeps a CR followed by a space inside a value, and
 * reads lines as C strings: a NUL cuts a value short, and a line that starts
 * with one ends the head, so what follows is read as a body or as the next
 * request. RFC 9112 lets a recipient refuse all of these; a proxy must.
 */
struct conn_head {
	const char *bad;     /* why the head is malformed; NULL: fine so far */
	unsigned char state; /* where in the head the next byte falls (conn.c) */
	bool cr;             /* the last byte was a CR */
	unsigned char nline; /* bytes of the request line kept in line */
	char line[96];       /* its start: the log line of a request evhttp refuses */
	uint64_t start_ns;   /* when its first byte arrived */
};

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
	struct conn_head head;
	/* Watch what evhttp reads, and what it answers by itself (a request
	 * it refuses never reaches front_handle). */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	int own_status;     /* the status of evhttp's own refusal, or 0 */
	bool own_body;      /* its head is written: what follows is its body */
	uint64_t own_bytes; /* body bytes of that refusal */
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
/* evhttp handed a request to front_handle: returns why its head is
 * malformed (NULL: it is not). Starts checking the next request's head
 * (evhttp has taken this one's bytes, trailer fields included); corsd
 * answers this one. */
const char *conn_head_done(struct conn *c, struct evhttp_request *req);
/* A request arrived whole: its deadline is over. */
void conn_request_begin(struct conn *c, struct exchange *ex);
/* Its answer is complete or handed to evhttp: wait for the next one. */
void conn_request_end(struct conn *c);
/* Drain: connections with no request close now (or once their last answer
 * is flushed), the others when their request ends. */
void conn_drain(struct worker *w);

#endif
