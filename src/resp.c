/*
 * resp: the upstream response head and the chunked transfer coding.
 *
 * Both parsers are strict where a lenient reading could let the upstream
 * smuggle a second response past corsd (framing, folding, stray CR), and
 * lenient only where the RFCs ask recipients to be (bare LF line ends).
 */
#include <string.h>

#include "resp.h"

/* A chunk-size line with its extensions, and one trailer line. */
#define RESP_CHUNK_LINE_MAX 4096
/* All trailer lines together: they are read and dropped, never forwarded. */
#define RESP_TRAILER_MAX 65536

size_t resp_head_end(const char *buf, size_t n)
{
	const char *p = buf;
	const char *end = buf + n;

	/* The blank line is a LF followed by LF or CR LF: that covers CRLF CRLF,
	 * LF LF and the mixed forms, so a scan may start at any byte. */
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p + 1 < end && p[1] == '\n')
			return (size_t)(p + 2 - buf);
		if (p + 2 < end && p[1] == '\r' && p[2] == '\n')
			return (size_t)(p + 3 - buf);
		p++;
	}
	return 0;
}

/* One line of buf[*pos..n) without its LF and an optional CR before it.
 * Returns -1 when there is no LF left. */
static int next_line(const char *buf, size_t n, size_t *pos, struct str *line)
{
	const char *start = buf + *pos;
	const char *lf = memchr(start, '\n', n - *pos);
	size_t len;

	if (lf == NULL)
		return -1;
	len = (size_t)(lf - start);
	*pos += len + 1;
	if (len > 0 && start[len - 1] == '\r')
		len--;
	*line = (struct str){start, len};
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* status-line = HTTP-version SP status-code SP [ reason-phrase ] */
static int parse_status_line(struct str l, struct resp_head *out)
{
	const char *p = l.p;
	size_t i;

	if (l.n < 12 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return -1;
	out->minor = p[7] - '0';
	if (!is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]))
		return -1;
	out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (out->status < 100 || out->status > 599)
		return -1;
	if (l.n == 12) {
		/* Some servers drop the SP before an empty reason. */
		out->reason = (struct str){p + 12, 0};
		return 0;
	}
	if (p[12] != ' ')
		return -1;
	out->reason = (struct str){p + 13, l.n - 13};
	/* reason-phrase = *( HTAB / SP / VCHAR / obs-text ) */
	for (i = 0; i < out->reason.n; i++) {
		unsigned char c = (unsigned char)out->reason.p[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return -1;
	}
	return 0;
}

/* Calls fn on each non-empty element of a comma list. */
static void for_each_element(struct str v, void (*fn)(struct str el, void *arg), void *arg)
{
	size_t i = 0;

	while (i <= v.n) {
		size_t j = i;
		struct str el;

		while (j < v.n && v.p[j] != ',')
			j++;
		el = str_trim_ows((struct str){v.p + i, j - i});
		if (el.n > 0)
			fn(el, arg);
		i = j + 1;
	}
}

struct conn_tokens {
	bool close, keep_alive;
};

static void connection_token(struct str el, void *arg)
{
	struct conn_tokens *t = arg;

	if (str_eq_ci(el, STR_LIT("close")))
		t->close = true;
	else if (str_eq_ci(el, STR_LIT("keep-alive")))
		t->keep_alive = true;
}

struct te_state {
	unsigned codings, chunked;
	bool last_chunked;
};

static void te_coding(struct str el, void *arg)
{
	struct te_state *t = arg;

	t->last_chunked = str_eq_ci(el, STR_LIT("chunked"));
	t->codings++;
	if (t->last_chunked)
		t->chunked++;
}

/* Content-Length = 1*DIGIT, but RFC 9110 8.6 lets a recipient accept a
 * list of identical values ("42, 42", or several lines of 42). Every
 * element, over every line, must be digits and equal to the others; an
 * empty element is as malformed as a bad one. */
static int parse_content_length(struct str v, bool *seen, uint64_t *value)
{
	size_t i = 0;

	while (i <= v.n) {
		size_t j = i;
		struct str el;
		uint64_t x = 0;
		size_t k;

		while (j < v.n && v.p[j] != ',')
			j++;
		el = str_trim_ows((struct str){v.p + i, j - i});
		if (el.n == 0)
			return -1;
		for (k = 0; k < el.n; k++) {
			unsigned d;

			if (!is_digit(el.p[k]))
				return -1;
			d = (unsigned)(el.p[k] - '0');
			if (x > (UINT64_MAX - d) / 10)
				return -1;
			x = x * 10 + d;
		}
		if (*seen && *value != x)
			return -1;
		*seen = true;
		*value = x;
		i = j + 1;
	}
	return 0;
}

static int parse_header_line(struct str l, struct resp_header *h)
{
	const char *colon;
	struct str value;

	/* obs-fold: a proxy must either unfold or reject; unfolding would
	 * change what the client sees, so reject. */
	if (l.n > 0 && (l.p[0] == ' ' || l.p[0] == '\t'))
		return -1;
	colon = memchr(l.p, ':', l.n);
	if (colon == NULL)
		return -1;
	h->name = (struct str){l.p, (size_t)(colon - l.p)};
	if (!str_is_token(h->name))
		return -1;
	value = (struct str){colon + 1, l.n - h->name.n - 1};
	h->value = str_trim_ows(value);
	/* LF cannot be here (lines end at LF); CR and NUL can. */
	if (str_has_ctl(h->value))
		return -1;
	return 0;
}

int resp_head_parse(const char *buf, size_t n, bool head_request, struct resp_head *out)
{
	struct conn_tokens conn = {false, false};
	struct te_state te = {0, 0, false};
	bool cl_seen = false;
	uint64_t cl = 0;
	bool te_present = false;
	struct str line;
	size_t pos = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (next_line(buf, n, &pos, &line) < 0 || parse_status_line(line, out) < 0)
		return -1;
	for (;;) {
		if (next_line(buf, n, &pos, &line) < 0)
			return -1; /* no blank line */
		if (line.n == 0)
			break;
		if (out->nheaders == RESP_MAX_HEADERS)
			return -1;
		if (parse_header_line(line, &out->headers[out->nheaders]) < 0)
			return -1;
		out->nheaders++;
	}

	for (i = 0; i < out->nheaders; i++) {
		const struct resp_header *h = &out->headers[i];

		if (str_eq_ci(h->name, STR_LIT("Connection"))) {
			for_each_element(h->value, connection_token, &conn);
		} else if (str_eq_ci(h->name, STR_LIT("Transfer-Encoding"))) {
			te_present = true;
			for_each_element(h->value, te_coding, &te);
		} else if (str_eq_ci(h->name, STR_LIT("Content-Length"))) {
			if (parse_content_length(h->value, &cl_seen, &cl) < 0)
				return -1;
		}
	}
	/* No coding at all, or chunked twice: nothing sane to decode. */
	if (te_present && (te.codings == 0 || te.chunked > 1))
		return -1;

	out->keep_alive = out->minor == 1 ? !conn.close : conn.keep_alive && !conn.close;
	if (cl_seen)
		out->content_length = cl;

	/* RFC 9112 6.3, in its order. */
	if (head_request || out->status < 200 || out->status == 204 || out->status == 304) {
		out->framing = RESP_BODY_NONE;
	} else if (te_present) {
		if (te.last_chunked) {
			out->framing = RESP_BODY_CHUNKED;
		} else {
			/* The RFC's rule for responses whose last coding is not
			 * chunked: the body runs until the server closes. */
			out->framing = RESP_BODY_CLOSE;
			out->keep_alive = false;
		}
		/* Both framings at once is how request smuggling starts: decode
		 * the chunks, then never trust this connection again. HTTP/1.0
		 * with Transfer-Encoding is the same signal (RFC 9112 6.1). */
		if (cl_seen || out->minor == 0)
			out->keep_alive = false;
		out->content_length = 0;
	} else if (cl_seen) {
		out->framing = cl == 0 ? RESP_BODY_NONE : RESP_BODY_LENGTH;
	} else {
		out->framing = RESP_BODY_CLOSE;
		out->keep_alive = false;
	}
	return 0;
}

enum {
	CK_SIZE,       /* hex digits of chunk-size */
	CK_SIZE_WS,    /* BWS after the size, before ';' or the line end */
	CK_EXT,        /* chunk extensions: skipped */
	CK_SIZE_LF,    /* CR seen on the size line */
	CK_DATA,       /* remaining bytes of chunk data */
	CK_DATA_CR,    /* the CRLF that must follow chunk data */
	CK_DATA_LF,    /* CR seen after chunk data */
	CK_TRAILER,    /* at the start of a trailer line (or the final blank line) */
	CK_TRAILER_IN, /* inside a trailer line */
	CK_TRAILER_LF, /* CR seen inside a trailer line */
	CK_END_LF,     /* CR of the final blank line seen */
	CK_DONE,
};

void resp_chunked_init(struct resp_chunked *c)
{
	memset(c, 0, sizeof(*c));
	c->state = CK_SIZE;
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The size line ended: either data follows or the trailer section does.
 * line_len counts the hex digits until here, so 0 means no digit. */
static void size_line_done(struct resp_chunked *c)
{
	c->line_len = 0;
	if (c->remaining == 0) {
		/* In the trailer section `remaining` counts trailer bytes. */
		c->state = CK_TRAILER;
	} else {
		c->state = CK_DATA;
	}
}

int resp_chunked_step(struct resp_chunked *c, const char *in, size_t n, size_t *consumed,
                      const char **data, size_t *data_len)
{
	size_t i = 0;

	*data = NULL;
	*data_len = 0;
	while (i < n && c->state != CK_DONE) {
		char ch = in[i];

		if (c->state == CK_DATA) {
			size_t take = n - i;

			if ((uint64_t)take > c->remaining)
				take = (size_t)c->remaining;
			*data = in + i;
			*data_len = take;
			c->remaining -= take;
			if (c->remaining == 0)
				c->state = CK_DATA_CR;
			i += take;
			/* One span per step, so the caller can move it out of
			 * its buffer right after the framing bytes before it. */
			break;
		}
		i++;
		switch (c->state) {
		case CK_SIZE: {
			int d = hex_value(ch);

			if (d >= 0) {
				/* 16 hex digits fill 64 bits; a 17th (even a
				 * leading zero) is not worth supporting. */
				if (++c->line_len > 16)
					return -1;
				c->remaining = c->remaining << 4 | (uint64_t)d;
				break;
			}
			if (c->line_len == 0)
				return -1;
			if (ch == ';') {
				c->line_len++;
				c->state = CK_EXT;
			} else if (ch == ' ' || ch == '\t') {
				c->line_len++;
				c->state = CK_SIZE_WS;
			} else if (ch == '\r') {
				c->state = CK_SIZE_LF;
			} else if (ch == '\n') {
				size_line_done(c);
			} else {
				return -1;
			}
			break;
		}
		case CK_SIZE_WS:
			if (ch == '\r')
				c->state = CK_SIZE_LF;
			else if (ch == '\n')
				size_line_done(c);
			else if (++c->line_len > RESP_CHUNK_LINE_MAX)
				return -1;
			else if (ch == ';')
				c->state = CK_EXT;
			else if (ch != ' ' && ch != '\t')
				return -1;
			break;
		case CK_EXT:
			if (ch == '\r')
				c->state = CK_SIZE_LF;
			else if (ch == '\n')
				size_line_done(c);
			else if (++c->line_len > RESP_CHUNK_LINE_MAX || ch == '\0')
				return -1;
			break;
		case CK_SIZE_LF:
			if (ch != '\n')
				return -1;
			size_line_done(c);
			break;
		case CK_DATA_CR:
			if (ch == '\r')
				c->state = CK_DATA_LF;
			else if (ch == '\n')
				c->state = CK_SIZE;
			else
				return -1;
			break;
		case CK_DATA_LF:
			if (ch != '\n')
				return -1;
			c->state = CK_SIZE;
			break;
		case CK_TRAILER:
			if (ch == '\r') {
				c->state = CK_END_LF;
			} else if (ch == '\n') {
				c->state = CK_DONE;
			} else {
				c->state = CK_TRAILER_IN;
				c->line_len = 1;
				if (++c->remaining > RESP_TRAILER_MAX)
					return -1;
			}
			break;
		case CK_TRAILER_IN:
			if (++c->remaining > RESP_TRAILER_MAX)
				return -1;
			if (ch == '\r')
				c->state = CK_TRAILER_LF;
			else if (ch == '\n')
				c->state = CK_TRAILER;
			else if (++c->line_len > RESP_CHUNK_LINE_MAX || ch == '\0')
				return -1;
			break;
		case CK_TRAILER_LF:
			if (ch != '\n')
				return -1;
			c->state = CK_TRAILER;
			break;
		case CK_END_LF:
			if (ch != '\n')
				return -1;
			c->state = CK_DONE;
			break;
		default:
			return -1;
		}
	}
	if (c->state == CK_DONE)
		c->done = true;
	*consumed = i;
	return 0;
}
