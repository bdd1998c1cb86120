/*
 * head: parse one raw HTTP/1.x request head from bytes (for `--explain`
 * and fuzzing; the server gets its requests parsed by evhttp). Strict about
 * what would be a smuggling vector, lenient about bare LF line ends, since
 * people write these files by hand.
 */
#ifndef CORSD_HEAD_H
#define CORSD_HEAD_H

#include <stddef.h>
#include "str.h"

#define HEAD_MAX_FIELDS 256

struct head_field {
	struct str name, value; /* value trimmed of surrounding whitespace */
};

/* Views point into the parsed buffer. */
struct head_req {
	struct str method, target, path; /* path: target up to '?' */
	int minor;                       /* HTTP/1.x */
	size_t nfields;
	struct head_field fields[HEAD_MAX_FIELDS];
};

/* Returns 0, or -1 with a one-line reason in err. The head may end at the
 * blank line or at the end of the buffer. */
int head_parse(const char *buf, size_t n, struct head_req *out, char *err, size_t errsz);

#endif
