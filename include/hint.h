/*
 * hint: why a denied request was denied, in one line a person can act on:
 * the origin entry of the policy closest to the request's origin and how
 * they differ (scheme, host, port, a wildcard's parent domain, a regex), or
 * the method or header missing from the policy's lists with a near miss.
 *
 * Runs on the request path, but only for denials: no allocation, and the
 * work is capped (entries examined, host lengths, edit distance). Pure: no
 * libevent. The text never carries a byte of the request that could break
 * a line: an invalid Origin is not echoed at all, and every other request
 * or policy string goes through hint_put_safe.
 */
#ifndef CORSD_HINT_H
#define CORSD_HINT_H

#include <stdbool.h>
#include <stddef.h>
#include "origin.h"
#include "policy.h"
#include "str.h"

/* Room for any hint: two origins of up to HINT_ORIGIN_SHOWN bytes, a
 * policy list of up to HINT_LIST_SHOWN bytes and the words around them. */
#define HINT_MAX 384
/* Longer strings are cut and end in "..."; an Origin may be 512 bytes. */
#define HINT_ORIGIN_SHOWN 96
#define HINT_TOKEN_SHOWN 64
#define HINT_LIST_SHOWN 120
/* Only this many origin entries are weighed, and the edit distance is only
 * measured between hosts this long at most: a hostile Origin must not make
 * a denial cost more than a few microseconds, even on a long list. */
#define HINT_MAX_ENTRIES 64
#define HINT_HOST_MEASURED 64
/* Hosts further apart than this many edits are "not close". */
#define HINT_HOST_EDITS 3
/* A requested header this close to a listed one is named as a near miss. */
#define HINT_HEADER_EDITS 2

/* A bounded, always NUL-terminated writer; what does not fit is cut and the
 * text then ends in "...". */
struct hint_buf {
	char *p;
	size_t cap; /* bytes at p, >= 4 */
	size_t len;
	bool cut;
};

void hint_buf_init(struct hint_buf *b, char *p, size_t cap);
void hint_puts(struct hint_buf *b, const char *s);
void hint_put(struct hint_buf *b, struct str s);
void hint_printf(struct hint_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* At most max bytes of s (then "..."), with bytes outside printable ASCII
 * written as \xNN, so the result is always one line of plain text. */
void hint_put_safe(struct hint_buf *b, struct str s, size_t max);

/* Levenshtein distance between a and b, or max + 1 when it is larger (the
 * work is O(max * length)); ci: ASCII case-insensitive. Strings longer
 * than 255 bytes are never within max. */
unsigned hint_distance(struct str a, struct str b, bool ci, unsigned max);

/* Each writes one sentence (no newline) into buf and returns its length.
 * origin: the request's Origin bytes; lines: how many Origin lines came;
 * norm: origin normalised when the caller has done it already (NULL: done
 * here). */
size_t hint_origin(const struct policy_rule *r, struct str origin, unsigned lines,
                   const struct origin_norm *norm, char *buf, size_t bufsz);
size_t hint_method(const struct policy_rule *r, struct str method, char *buf, size_t bufsz);
size_t hint_header(const struct policy_rule *r, struct str name, char *buf, size_t bufsz);

#endif
