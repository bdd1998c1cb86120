/*
 * resp: pure parsers for the upstream's side of HTTP/1.1: the response head
 * and the chunked transfer coding. No libevent and no allocation, so they can
 * be unit-tested and fuzzed on plain bytes.
 */
#ifndef CORSD_RESP_H
#define CORSD_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "str.h"

#define RESP_MAX_HEADERS 128

struct resp_header {
	struct str name, value; /* value without surrounding whitespace */
};

enum resp_framing {
	RESP_BODY_NONE,    /* HEAD, 1xx, 204, 304, or Content-Length: 0 */
	RESP_BODY_LENGTH,  /* Content-Length bytes */
	RESP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
	RESP_BODY_CLOSE,   /* until the upstream closes (no framing given) */
};

/* Views point into the parsed buffer. */
struct resp_head {
	int minor; /* HTTP/1.x */
	int status;
	struct str reason;
	size_t nheaders;
	struct resp_header headers[RESP_MAX_HEADERS];
	enum resp_framing framing;
	uint64_t content_length; /* with RESP_BODY_LENGTH */
	bool keep_alive;         /* the connection may be reused after the body */
};

/* Parse one complete head: buf[0..n) ends with the blank line (CRLF CRLF, or
 * LF LF tolerated). head_request: the request was HEAD, so there is no body.
 * Returns 0, or -1 when malformed: bad status line, a header line without a
 * colon or with a name that is not a token, obs-fold, CR/NUL inside a value,
 * more than RESP_MAX_HEADERS headers, several differing Content-Length
 * values, a non-numeric length, an empty Transfer-Encoding or "chunked"
 * twice. A final "chunked" wins over Content-Length (RFC 9112 6.3) and the
 * connection is then not reused; a Transfer-Encoding whose last coding is
 * not chunked means the body ends at close. content_length is filled from a
 * valid Content-Length even when there is no body (HEAD, 304). */
int resp_head_parse(const char *buf, size_t n, bool head_request, struct resp_head *out);

/* Where the blank line that ends a head is in buf[0..n): the length of the
 * head including it, or 0 when it is not there yet. */
size_t resp_head_end(const char *buf, size_t n);

/* The chunked decoder: a state machine fed with whatever bytes arrived. */
struct resp_chunked {
	int state;
	uint64_t remaining; /* bytes left in the current chunk */
	unsigned line_len;  /* bytes of the current size/trailer line, bounded */
	bool done;
};

void resp_chunked_init(struct resp_chunked *c);
/* Consume bytes from in[0..n). Sets *consumed, and *data / *data_len to one
 * span of body bytes inside `in` (data_len 0 when this step produced none).
 * Call again with the rest until consumed == 0 or c->done. Returns 0, or -1
 * on malformed framing (bad hex, size overflow, missing CRLF, over-long line). */
int resp_chunked_step(struct resp_chunked *c, const char *in, size_t n, size_t *consumed,
                      const char **data, size_t *data_len);

#endif
