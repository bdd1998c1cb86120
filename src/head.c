/*
 * A small request-head parser for --explain. It applies the same rules the
 * server applies to a head (tokens for method and names, no obs-fold, no
 * whitespace before the colon, no CR/NUL in values) so that a head explain
 * accepts is one the server would accept too.
 */
#include "head.h"

#include <stdio.h>
#include <string.h>

#include "hint.h"

/* One line without its terminator; *next is where the next one starts. */
static struct str next_line(const char *buf, size_t n, size_t *pos)
{
	size_t start = *pos, end;
	const char *nl = memchr(buf + start, '\n', n - start);

	end = nl ? (size_t)(nl - buf) : n;
	*pos = nl ? end + 1 : n;
	if (end > start && buf[end - 1] == '\r')
		end--;
	return (struct str){buf + start, end - start};
}

static int parse_request_line(struct str line, struct head_req *out, char *err, size_t errsz)
{
	const char *sp1 = memchr(line.p, ' ', line.n), *sp2;
	struct str version;

	if (sp1 == NULL)
		goto bad;
	out->method = (struct str){line.p, (size_t)(sp1 - line.p)};
	sp2 = memchr(sp1 + 1, ' ', line.n - (size_t)(sp1 + 1 - line.p));
	if (sp2 == NULL)
		goto bad;
	out->target = (struct str){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
	version = (struct str){sp2 + 1, line.n - (size_t)(sp2 + 1 - line.p)};
	if (!str_is_token(out->method)) {
		snprintf(err, errsz, "the method is not a token");
		return -1;
	}
	if (out->target.n == 0 || out->target.p[0] != '/' || str_has_ctl(out->target) ||
	    memchr(out->target.p, ' ', out->target.n) ||
	    memchr(out->target.p, '\t', out->target.n)) {
		snprintf(err, errsz, "the request target must be a path (origin-form)");
		return -1;
	}
	if (version.n != 8 || memcmp(version.p, "HTTP/1.", 7) != 0 ||
	    (version.p[7] != '0' && version.p[7] != '1')) {
		snprintf(err, errsz, "the version must be HTTP/1.0 or HTTP/1.1");
		return -1;
	}
	out->minor = version.p[7] - '0';
	{
		const char *q = memchr(out->target.p, '?', out->target.n);
		out->path =
		    (struct str){out->target.p, q ? (size_t)(q - out->target.p) : out->target.n};
	}
	return 0;
bad:
	snprintf(err, errsz, "the request line must be METHOD TARGET HTTP/1.x");
	return -1;
}

int head_parse(const char *buf, size_t n, struct head_req *out, char *err, size_t errsz)
{
	size_t pos = 0;
	struct str line;

	out->nfields = 0;
	line = next_line(buf, n, &pos);
	if (parse_request_line(line, out, err, errsz) < 0)
		return -1;
	while (pos < n) {
		const char *colon;
		struct head_field *f;

		line = next_line(buf, n, &pos);
		if (line.n == 0)
			break; /* the blank line ends the head */
		if (line.p[0] == ' ' || line.p[0] == '\t') {
			snprintf(err, errsz, "line folding (obs-fold) is not allowed");
			return -1;
		}
		colon = memchr(line.p, ':', line.n);
		if (colon == NULL) {
			snprintf(err, errsz, "a header line has no colon");
			return -1;
		}
		if (out->nfields == HEAD_MAX_FIELDS) {
			snprintf(err, errsz, "more than %d header lines", HEAD_MAX_FIELDS);
			return -1;
		}
		f = &out->fields[out->nfields];
		f->name = (struct str){line.p, (size_t)(colon - line.p)};
		f->value = str_trim_ows((struct str){colon + 1, line.n - f->name.n - 1});
		if (!str_is_token(f->name)) {
			/* The reason goes to a terminal: the name's bytes are
			 * escaped, never printed raw (ESC, CR, ...). */
			struct hint_buf b;

			hint_buf_init(&b, err, errsz);
			hint_puts(&b, "header name \"");
			hint_put_safe(&b, f->name, 64);
			hint_puts(&b, "\" is not a token");
			return -1;
		}
		if (str_has_ctl(f->value)) {
			snprintf(err, errsz, "header %.*s has CR, LF or NUL in its value",
			         (int)(f->name.n > 64 ? 64 : f->name.n), f->name.p);
			return -1;
		}
		out->nfields++;
	}
	return 0;
}
