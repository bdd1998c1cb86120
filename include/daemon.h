/*
 * daemon: corsd running. The main thread binds the listeners, starts the
 * workers, and then only coordinates: signals, reloads (loaded and checked
 * here, off the request path, then posted to every worker), the drain on
 * SIGTERM/SIGINT, the admin listener and the supervisor's notifications.
 */
#ifndef CORSD_DAEMON_H
#define CORSD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "policy.h"
#include "worker.h"

struct admin;

struct daemon {
	const char *file;
	struct policy *policy; /* the running policy: the main thread's reference */
	struct event_base *base;
	struct worker_group group;
	struct admin *admin;
	struct event *ev_term, *ev_int, *ev_hup, *shutdown_timer;
	uint64_t reloads_ok, reloads_failed; /* main thread only */
	bool draining;
};

/* Runs until stopped; p is the loaded policy (the daemon takes its own
 * reference). Returns the process exit status. */
int daemon_run(const char *file, struct policy *p);
/* "1.2.3.4:80" or "[::1]:80", for log lines. */
void daemon_format_addr(const struct sockaddr_storage *ss, char *out, size_t outsz);

#endif
