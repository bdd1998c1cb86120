/*
 * sbuf: a growable, NUL-terminated string for the reports corsd builds
 * (the /metrics page, --explain and /explain). An allocation failure is
 * sticky: later writes do nothing and sbuf_finish returns NULL, so callers
 * check once at the end. Pure: no libevent.
 */
#ifndef CORSD_SBUF_H
#define CORSD_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
	char *p; /* malloc'd; NULL until the first write */
	size_t len, cap;
	bool oom;
};

void sbuf_put(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string over (length in *len unless NULL); NULL after an
 * allocation failure, with everything freed. */
char *sbuf_finish(struct sbuf *b, size_t *len);

#endif
