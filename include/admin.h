/*
 * admin: the admin listener on the main thread's loop (its own evhttp):
 * GET /healthz, GET /metrics (Prometheus text) and GET /explain (the
 * decision the running policy makes for a request described in the query).
 * Reads the daemon's state; changes nothing.
 */
#ifndef CORSD_ADMIN_H
#define CORSD_ADMIN_H

#include <stddef.h>
#include "policy.h"

struct daemon;
struct admin;

/* Binds addr on the daemon's base; NULL with a message in err. Logs
 * "admin listening on ADDR". */
struct admin *admin_new(struct daemon *dm, const struct policy_addr *addr, char *err, size_t errsz);
void admin_free(struct admin *a); /* NULL is fine */

#endif
