#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"
#include "unit.h"

/* ---- resp_head_end ---- */

static const struct {
	const char *in;
	size_t end;
} head_end_cases[] = {
    {"HTTP/1.1 200 OK\r\n\r\n", 19},
    {"HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody", 25},
    {"HTTP/1.1 200 OK\n\n", 17},
    {"HTTP/1.1 200 OK\nA: b\n\nbody", 22},
    {"HTTP/1.1 200 OK\nA: b\r\n\r\n", 24},
    {"HTTP/1.1 200 OK\r\nA: b\n\n", 23},
    {"HTTP/1.1 200 OK\r\nA: b\r\n", 0},
    {"HTTP/1.1 200 OK\r\nA: b\r\n\r", 0},
    {"HTTP/1.1 200 OK\r\n", 0},
    {"HTTP/1.1 200 OK\r\nA: b\r\r\n", 0}, /* CR CR LF is not a blank line */
    {"", 0},
};

START_TEST(test_head_end)
{
	const char *in = head_end_cases[_i].in;

	ck_assert_msg(resp_head_end(in, strlen(in)) == head_end_cases[_i].end,
	              "case %d: got %zu, want %zu", _i, resp_head_end(in, strlen(in)),
	              head_end_cases[_i].end);
}
END_TEST

/* ---- resp_head_parse: accepted heads and their framing ---- */

#define NONE RESP_BODY_NONE
#define LEN RESP_BODY_LENGTH
#define CHUNKED RESP_BODY_CHUNKED
#define CLOSE RESP_BODY_CLOSE

static const struct {
	const char *name;
	const char *in;
	bool head_request;
	int minor, status;
	const char *reason;
	size_t nheaders;
	enum resp_framing framing;
	uint64_t content_length;
	bool keep_alive;
} good_cases[] = {
    {"1.1 CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false, 1, 200, "OK", 1, LEN, 5,
     true},
    {"1.0 no framing", "HTTP/1.0 200 OK\r\n\r\n", false, 0, 200, "OK", 0, CLOSE, 0, false},
    {"empty reason with SP", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", false, 1, 404, "", 1,
     NONE, 0, true},
    {"empty reason no SP", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", false, 1, 404, "", 1, NONE,
     0, true},
    {"reason with spaces", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1\r\n\r\n", false,
     1, 500, "Internal Server Error", 1, LEN, 1, true},
    {"LF only", "HTTP/1.1 200 OK\nContent-Length: 3\n\n", false, 1, 200, "OK", 1, LEN, 3, true},
    {"HEAD with CL", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", true, 1, 200, "OK", 1, NONE,
     99, true},
    {"HEAD with chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", true, 1, 200,
     "OK", 1, NONE, 0, true},
    {"204", "HTTP/1.1 204 No Content\r\n\r\n", false, 1, 204, "No Content", 0, NONE, 0, true},
    {"304 with CL", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, 1, 304,
     "Not Modified", 1, NONE, 10, true},
    {"100", "HTTP/1.1 100 Continue\r\n\r\n", false, 1, 100, "Continue", 0, NONE, 0, true},
    {"103", "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", false, 1, 103, "Early Hints", 1, NONE,
     0, true},
    {"CL 0", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, 1, 200, "OK", 1, NONE, 0, true},
    {"TE chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", false, 1, 200, "OK", 1,
     CHUNKED, 0, true},
    {"TE Chunked any case", "HTTP/1.1 200 OK\r\nTransfer-Encoding: CHUNKED\r\n\r\n", false, 1, 200,
     "OK", 1, CHUNKED, 0, true},
    {"TE gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", false, 1,
     200, "OK", 1, CHUNKED, 0, true},
    {"TE over two lines",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     false, 1, 200, "OK", 2, CHUNKED, 0, true},
    {"TE + CL: chunked wins, no reuse",
     "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n", false, 1, 200,
     "OK", 2, CHUNKED, 0, false},
    {"TE gzip only", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", false, 1, 200, "OK", 1,
     CLOSE, 0, false},
    {"TE chunked, gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", false, 1,
     200, "OK", 1, CLOSE, 0, false},
    {"1.0 TE chunked",
     "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: "
     "keep-alive\r\n\r\n",
     false, 0, 200, "OK", 2, CHUNKED, 0, false},
    {"two equal CLs", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n", false, 1,
     200, "OK", 2, LEN, 7, true},
    {"CL list 1, 1", "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n", false, 1, 200, "OK", 1, LEN,
     1, true},
    {"CL leading zeros", "HTTP/1.1 200 OK\r\nContent-Length: 007\r\ncontent-length: 7\r\n\r\n",
     false, 1, 200, "OK", 2, LEN, 7, true},
    {"CL max", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n", false, 1, 200,
     "OK", 1, LEN, UINT64_MAX, true},
    {"1.1 Connection: close", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: close\r\n\r\n",
     false, 1, 200, "OK", 2, LEN, 1, false},
    {"1.1 Connection list with Close",
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nconnection: foo, Close ,bar\r\n\r\n", false, 1, 200,
     "OK", 2, LEN, 1, false},
    {"1.1 Connection: keep-alive",
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: "
     "keep-alive\r\n\r\n",
     false, 1, 200, "OK", 2, LEN, 1, true},
    {"1.1 closed- is not close",
     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nConnection: "
     "closed\r\n\r\n",
     false, 1, 200, "OK", 2, LEN, 1, true},
    {"1.0 Keep-Alive", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: Keep-Alive\r\n\r\n",
     false, 0, 200, "OK", 2, LEN, 1, true},
    {"1.0 without Connection", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false, 0, 200, "OK",
     1, LEN, 1, false},
    {"1.0 keep-alive and close",
     "HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: "
     "keep-alive\r\nConnection: close\r\n\r\n",
     false, 0, 200, "OK", 3, LEN, 1, false},
    {"close framing never kept", "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\n", false, 1, 200,
     "OK", 1, CLOSE, 0, false},
    {"bytes after blank line ignored", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", false, 1,
     200, "OK", 1, LEN, 2, true},
    {"599", "HTTP/1.1 599 x\r\nContent-Length: 0\r\n\r\n", false, 1, 599, "x", 1, NONE, 0, true},
    {"reason with obs-text and tab", "HTTP/1.1 200 O\tK\xe9\r\nContent-Length: 0\r\n\r\n", false, 1,
     200, "O\tK\xe9", 1, NONE, 0, true},
};

START_TEST(test_head_good)
{
	const char *in = good_cases[_i].in;
	struct resp_head h;
	int r = resp_head_parse(in, strlen(in), good_cases[_i].head_request, &h);

	ck_assert_msg(r == 0, "%s: rejected", good_cases[_i].name);
	ck_assert_int_eq(h.minor, good_cases[_i].minor);
	ck_assert_int_eq(h.status, good_cases[_i].status);
	ck_assert_msg(str_eq(h.reason, str_c(good_cases[_i].reason)), "%s: reason '%.*s'",
	              good_cases[_i].name, (int)h.reason.n, h.reason.p);
	ck_assert_uint_eq(h.nheaders, good_cases[_i].nheaders);
	ck_assert_msg(h.framing == good_cases[_i].framing, "%s: framing %d", good_cases[_i].name,
	              (int)h.framing);
	ck_assert_msg(h.content_length == good_cases[_i].content_length, "%s: length %llu",
	              good_cases[_i].name, (unsigned long long)h.content_length);
	ck_assert_msg(h.keep_alive == good_cases[_i].keep_alive, "%s: keep_alive %d",
	              good_cases[_i].name, h.keep_alive);
}
END_TEST

/* ---- resp_head_parse: rejected heads ---- */

static const struct {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen */
} bad_cases[] = {
    {"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", 0},
    {"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", 0},
    {"lower-case version", "http/1.1 200 OK\r\n\r\n", 0},
    {"ICY", "ICY 200 OK\r\n\r\n", 0},
    {"two digits", "HTTP/1.1 20 OK\r\n\r\n", 0},
    {"four digits", "HTTP/1.1 2000 OK\r\n\r\n", 0},
    {"status 099", "HTTP/1.1 099 x\r\n\r\n", 0},
    {"status 600", "HTTP/1.1 600 x\r\n\r\n", 0},
    {"no SP after version", "HTTP/1.1200 OK\r\n\r\n", 0},
    {"two SP after version", "HTTP/1.1  200 OK\r\n\r\n", 0},
    {"tab after status", "HTTP/1.1 200\tOK\r\n\r\n", 0},
    {"letters in status", "HTTP/1.1 2x0 OK\r\n\r\n", 0},
    {"CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", 0},
    {"NUL in reason", "HTTP/1.1 200 O\0K\r\n\r\n", 21},
    {"empty", "\r\n\r\n", 0},
    {"no blank line", "HTTP/1.1 200 OK\r\nA: b\r\n", 0},
    {"no colon", "HTTP/1.1 200 OK\r\nContent-Length 5\r\n\r\n", 0},
    {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n", 0},
    {"tab before colon", "HTTP/1.1 200 OK\r\nContent-Length\t: 5\r\n\r\n", 0},
    {"empty name", "HTTP/1.1 200 OK\r\n: 5\r\n\r\n", 0},
    {"non-token name", "HTTP/1.1 200 OK\r\nA(b): c\r\n\r\n", 0},
    {"obs-fold SP", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", 0},
    {"obs-fold HTAB", "HTTP/1.1 200 OK\r\nA: b\r\n\tc\r\n\r\n", 0},
    {"leading SP on first header", "HTTP/1.1 200 OK\r\n A: b\r\n\r\n", 0},
    {"CR inside value", "HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n", 0},
    {"CR CR LF", "HTTP/1.1 200 OK\r\nA: b\r\r\n\r\n", 0},
    {"NUL inside value", "HTTP/1.1 200 OK\r\nA: b\0c\r\n\r\n", 28},
    {"two different CLs", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0},
    {"CL list 1, 2", "HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n", 0},
    {"CL empty", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n", 0},
    {"CL empty element", "HTTP/1.1 200 OK\r\nContent-Length: 1,,1\r\n\r\n", 0},
    {"CL negative", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0},
    {"CL plus", "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n", 0},
    {"CL hex", "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n", 0},
    {"CL inner space", "HTTP/1.1 200 OK\r\nContent-Length: 1 0\r\n\r\n", 0},
    {"CL overflow", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", 0},
    {"CL huge", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", 0},
    {"CL bad even on 204", "HTTP/1.1 204 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0},
    {"TE empty", "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n", 0},
    {"TE only commas", "HTTP/1.1 200 OK\r\nTransfer-Encoding: , ,\r\n\r\n", 0},
    {"TE + bad CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: x\r\n\r\n",
     0},
    {"TE chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 0},
    {"TE chunked twice on two lines",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0},
};

START_TEST(test_head_bad)
{
	const char *in = bad_cases[_i].in;
	size_t len = bad_cases[_i].len ? bad_cases[_i].len : strlen(in);
	struct resp_head h;

	ck_assert_msg(resp_head_parse(in, len, false, &h) == -1, "%s: accepted",
	              bad_cases[_i].name);
}
END_TEST

START_TEST(test_head_views)
{
	const char *in = "HTTP/1.1 200 OK\r\nX-A:  spaced \t\r\nX-Empty:\r\nx-b:c\r\n\r\n";
	struct resp_head h;

	ck_assert_int_eq(resp_head_parse(in, strlen(in), false, &h), 0);
	ck_assert_uint_eq(h.nheaders, 3);
	ck_assert(str_eq(h.headers[0].name, STR_LIT("X-A")));
	ck_assert(str_eq(h.headers[0].value, STR_LIT("spaced")));
	ck_assert(str_eq(h.headers[1].name, STR_LIT("X-Empty")));
	ck_assert_ptr_nonnull(h.headers[1].value.p);
	ck_assert_uint_eq(h.headers[1].value.n, 0);
	ck_assert(str_eq(h.headers[2].name, STR_LIT("x-b")));
	ck_assert(str_eq(h.headers[2].value, STR_LIT("c")));
	/* Views point into the input. */
	ck_assert(h.headers[2].value.p > in && h.headers[2].value.p < in + strlen(in));
}
END_TEST

static char *many_headers(unsigned count)
{
	size_t cap = 64 + (size_t)count * 32;
	char *buf = malloc(cap);
	size_t off;
	unsigned i;

	ck_assert_ptr_nonnull(buf);
	off = (size_t)snprintf(buf, cap, "HTTP/1.1 200 OK\r\n");
	for (i = 0; i < count; i++)
		off += (size_t)snprintf(buf + off, cap - off, "X-H%u: v%u\r\n", i, i);
	snprintf(buf + off, cap - off, "\r\n");
	return buf;
}

START_TEST(test_head_max_headers)
{
	char *ok = many_headers(RESP_MAX_HEADERS);
	char *over = many_headers(RESP_MAX_HEADERS + 1);
	struct resp_head h;

	ck_assert_int_eq(resp_head_parse(ok, strlen(ok), false, &h), 0);
	ck_assert_uint_eq(h.nheaders, RESP_MAX_HEADERS);
	ck_assert(str_eq(h.headers[RESP_MAX_HEADERS - 1].name, STR_LIT("X-H127")));
	ck_assert(str_eq(h.headers[RESP_MAX_HEADERS - 1].value, STR_LIT("v127")));
	ck_assert_int_eq(resp_head_parse(over, strlen(over), false, &h), -1);
	free(ok);
	free(over);
}
END_TEST

/* ---- the chunked decoder ---- */

struct decoded {
	int rc;      /* 0, or -1 on a framing error */
	bool done;   /* the last chunk and trailers were seen */
	size_t used; /* input bytes consumed (the rest is the next response) */
	size_t len;  /* decoded body bytes */
	char out[1 << 17];
};

/* Feeds in[0..n) in pieces that end at cuts[0..ncuts) (ascending), then at n,
 * the way bytes arrive from a socket. */
static void decode_split(const char *in, size_t n, const size_t *cuts, size_t ncuts,
                         struct decoded *d)
{
	struct resp_chunked c;
	size_t start = 0;
	size_t k;

	resp_chunked_init(&c);
	memset(d, 0, offsetof(struct decoded, out));
	for (k = 0; k <= ncuts && !c.done; k++) {
		size_t end = k < ncuts ? cuts[k] : n;
		size_t pos = start;

		while (pos < end && !c.done) {
			size_t used;
			const char *data;
			size_t dlen;

			if (resp_chunked_step(&c, in + pos, end - pos, &used, &data, &dlen) < 0) {
				d->rc = -1;
				return;
			}
			/* A step must make progress until it is done. */
			ck_assert_uint_gt(used, 0);
			ck_assert_uint_le(used, end - pos);
			if (dlen > 0) {
				/* The span is the tail of what was consumed. */
				ck_assert_ptr_eq(data + dlen, in + pos + used);
				ck_assert_uint_le(d->len + dlen, sizeof(d->out));
				memcpy(d->out + d->len, data, dlen);
				d->len += dlen;
			}
			pos += used;
		}
		d->used = pos;
		start = end;
	}
	d->done = c.done;
}

static void decode_whole(const char *in, size_t n, struct decoded *d)
{
	decode_split(in, n, NULL, 0, d);
}

static const struct {
	const char *name;
	const char *in;
	int rc;
	bool done;
	const char *out; /* with rc 0 */
	size_t used;     /* with done: where the decoder stopped; 0 = all of in */
} chunk_cases[] = {
    {"simple", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0, true, "hello world", 0},
    {"hex sizes any case", "a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n", 0, true,
     "0123456789abcdefghijk", 0},
    {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", 0, true, "hello", 0},
    {"bare LF", "5\nhello\n0\n\n", 0, true, "hello", 0},
    {"extensions", "5;name=value;x=\"q;\"\r\nhello\r\n0;last\r\n\r\n", 0, true, "hello", 0},
    {"BWS before extension", "5 ;a\r\nhello\r\n0\t\r\n\r\n", 0, true, "hello", 0},
    {"trailers", "5\r\nhello\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n", 0, true, "hello", 0},
    {"trailers with LF", "5\r\nhello\r\n0\nX-Sum: 1\n\n", 0, true, "hello", 0},
    {"stops at the end", "2\r\nhi\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", 0, true, "hi", 12},
    {"incomplete", "5\r\nhel", 0, false, "hel", 0},
    {"incomplete trailers", "5\r\nhello\r\n0\r\nX: 1\r\n", 0, false, "hello", 0},
    {"empty body", "0\r\n\r\n", 0, true, "", 0},
    {"bad hex", "5g\r\nhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"no digits", "\r\nhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"no digits before ext", ";a\r\nhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"sign", "+5\r\nhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"digits after BWS", "5 5\r\nhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"overflow 17 digits", "10000000000000000\r\n", -1, false, NULL, 0},
    {"17 digits with zeros", "00000000000000005\r\nhello\r\n", -1, false, NULL, 0},
    {"CR without LF on size line", "5\rhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"CR without LF in extension", "5;a\rb\r\nhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"missing CRLF after data", "5\r\nhelloX\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"junk instead of CRLF, then a valid chunk", "5\r\nhelloA5\r\nworld\r\n0\r\n\r\n", -1, false,
     NULL, 0},
    {"CR then junk after data", "5\r\nhello\rX0\r\n\r\n", -1, false, NULL, 0},
    {"too much data", "3\r\nhello\r\n0\r\n\r\n", -1, false, NULL, 0},
    {"bad end of trailers", "0\r\n\rX", -1, false, NULL, 0},
    {"CR without LF in trailer", "0\r\nX: a\rb\r\n\r\n", -1, false, NULL, 0},
};

START_TEST(test_chunked_table)
{
	const char *in = chunk_cases[_i].in;
	size_t n = strlen(in);
	static struct decoded d;

	decode_whole(in, n, &d);
	ck_assert_msg(d.rc == chunk_cases[_i].rc, "%s: rc %d", chunk_cases[_i].name, d.rc);
	if (d.rc < 0)
		return;
	ck_assert_msg(d.done == chunk_cases[_i].done, "%s: done %d", chunk_cases[_i].name, d.done);
	ck_assert_msg(d.len == strlen(chunk_cases[_i].out) &&
	                  memcmp(d.out, chunk_cases[_i].out, d.len) == 0,
	              "%s: out '%.*s'", chunk_cases[_i].name, (int)d.len, d.out);
	ck_assert_uint_eq(d.used, chunk_cases[_i].used ? chunk_cases[_i].used : n);
}
END_TEST

static void assert_same(const struct decoded *a, const struct decoded *b, const char *what)
{
	ck_assert_msg(a->rc == b->rc, "%s: rc %d vs %d", what, a->rc, b->rc);
	if (a->rc < 0)
		return;
	ck_assert_msg(a->done == b->done, "%s: done", what);
	ck_assert_msg(a->used == b->used, "%s: used %zu vs %zu", what, a->used, b->used);
	ck_assert_msg(a->len == b->len && memcmp(a->out, b->out, a->len) == 0, "%s: output", what);
}

/* Every table case, cut into two at every byte, and byte by byte. */
START_TEST(test_chunked_every_split)
{
	const char *in = chunk_cases[_i].in;
	size_t n = strlen(in);
	static struct decoded whole, split;
	size_t cuts[256];
	size_t k;

	ck_assert_uint_lt(n, sizeof(cuts) / sizeof(cuts[0]));
	decode_whole(in, n, &whole);
	for (k = 1; k < n; k++) {
		decode_split(in, n, &k, 1, &split);
		assert_same(&whole, &split, chunk_cases[_i].name);
	}
	for (k = 1; k < n; k++)
		cuts[k - 1] = k;
	decode_split(in, n, cuts, n > 0 ? n - 1 : 0, &split);
	assert_same(&whole, &split, chunk_cases[_i].name);
}
END_TEST

/* A long body with many chunk sizes, extensions and trailers, cut at random
 * places; the output must always be the original bytes. */
START_TEST(test_chunked_random_splits)
{
	static char body[40000], enc[60000];
	static struct decoded d;
	size_t cuts[64];
	size_t blen = sizeof(body), elen = 0, pos = 0;
	unsigned seed = 12345;
	int round;

	for (pos = 0; pos < blen; pos++)
		body[pos] = (char)(pos * 7 + pos / 251);
	pos = 0;
	while (pos < blen) {
		size_t len = (size_t)(rand_r(&seed) % 3000) + 1;

		if (len > blen - pos)
			len = blen - pos;
		elen += (size_t)snprintf(enc + elen, sizeof(enc) - elen, "%zx%s\r\n", len,
		                         len % 3 ? "" : ";ext=1");
		memcpy(enc + elen, body + pos, len);
		elen += len;
		memcpy(enc + elen, "\r\n", 2);
		elen += 2;
		pos += len;
	}
	elen += (size_t)snprintf(enc + elen, sizeof(enc) - elen, "0\r\nTrailer: x\r\n\r\n");

	for (round = 0; round < 300; round++) {
		size_t ncuts = (size_t)(rand_r(&seed) % 64);
		size_t k;

		for (k = 0; k < ncuts; k++)
			cuts[k] = (size_t)rand_r(&seed) % elen;
		/* ascending, as decode_split wants */
		for (k = 1; k < ncuts; k++) {
			size_t v = cuts[k], j = k;
			while (j > 0 && cuts[j - 1] > v) {
				cuts[j] = cuts[j - 1];
				j--;
			}
			cuts[j] = v;
		}
		decode_split(enc, elen, cuts, ncuts, &d);
		ck_assert_int_eq(d.rc, 0);
		ck_assert(d.done);
		ck_assert_uint_eq(d.used, elen);
		ck_assert_uint_eq(d.len, blen);
		ck_assert(memcmp(d.out, body, blen) == 0);
	}
}
END_TEST

START_TEST(test_chunked_max_size)
{
	const char *in = "ffffffffffffffff\r\nab";
	struct resp_chunked c;
	size_t used, dlen;
	const char *data;

	resp_chunked_init(&c);
	ck_assert_int_eq(resp_chunked_step(&c, in, strlen(in), &used, &data, &dlen), 0);
	ck_assert_uint_eq(used, strlen(in));
	ck_assert_uint_eq(dlen, 2);
	ck_assert_ptr_eq(data, in + 18);
	ck_assert(c.remaining == UINT64_MAX - 2);
	ck_assert(!c.done);
}
END_TEST

/* After done, the decoder consumes nothing more. */
START_TEST(test_chunked_done_is_sticky)
{
	const char *in = "0\r\n\r\n";
	struct resp_chunked c;
	size_t used, dlen;
	const char *data;

	resp_chunked_init(&c);
	ck_assert_int_eq(resp_chunked_step(&c, in, strlen(in), &used, &data, &dlen), 0);
	ck_assert(c.done);
	ck_assert_int_eq(resp_chunked_step(&c, "1\r\nx", 4, &used, &data, &dlen), 0);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_eq(dlen, 0);
}
END_TEST

/* Builds a chunk-size line with `ext` bytes of extension, or one trailer line
 * of `ext` bytes, and checks the bound. */
static int long_line(bool trailer, size_t ext)
{
	static char buf[20000];
	static struct decoded d;
	size_t off = 0;

	ck_assert_uint_lt(ext, sizeof(buf) - 100);
	if (trailer) {
		off += (size_t)snprintf(buf, sizeof(buf), "0\r\nX:");
		memset(buf + off, 'a', ext - 2);
		off += ext - 2;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "\r\n\r\n");
	} else {
		off += (size_t)snprintf(buf, sizeof(buf), "1;");
		memset(buf + off, 'a', ext - 2);
		off += ext - 2;
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "\r\nx\r\n0\r\n\r\n");
	}
	decode_whole(buf, off, &d);
	ck_assert(d.rc < 0 || d.done);
	return d.rc;
}

START_TEST(test_chunked_long_lines)
{
	/* Lines of up to 4096 bytes before the CR LF pass; longer ones fail. */
	ck_assert_int_eq(long_line(false, 1000), 0);
	ck_assert_int_eq(long_line(false, 4096), 0);
	ck_assert_int_eq(long_line(false, 4097), -1);
	ck_assert_int_eq(long_line(false, 10000), -1);
	ck_assert_int_eq(long_line(true, 4096), 0);
	ck_assert_int_eq(long_line(true, 4097), -1);
}
END_TEST

START_TEST(test_chunked_trailer_total)
{
	static char buf[100000];
	static struct decoded d;
	size_t off = 0;
	int i;

	off += (size_t)snprintf(buf, sizeof(buf), "0\r\n");
	/* 40 lines of 2000 bytes: each line is fine, together they are too many. */
	for (i = 0; i < 40; i++) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "X%d:", i);
		memset(buf + off, 'v', 2000);
		off += 2000;
		memcpy(buf + off, "\r\n", 2);
		off += 2;
	}
	memcpy(buf + off, "\r\n", 2);
	off += 2;
	decode_whole(buf, off, &d);
	ck_assert_int_eq(d.rc, -1);
	/* 20 of them fit. */
	off = (size_t)snprintf(buf, sizeof(buf), "0\r\n");
	for (i = 0; i < 20; i++) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "X%d:", i);
		memset(buf + off, 'v', 2000);
		off += 2000;
		memcpy(buf + off, "\r\n", 2);
		off += 2;
	}
	memcpy(buf + off, "\r\n", 2);
	off += 2;
	decode_whole(buf, off, &d);
	ck_assert_int_eq(d.rc, 0);
	ck_assert(d.done);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *resp_suite(void)
{
	Suite *s = suite_create("resp");
	TCase *head = tcase_create("head");
	TCase *chunked = tcase_create("chunked");

	tcase_add_loop_test(head, test_head_end, 0, N(head_end_cases));
	tcase_add_loop_test(head, test_head_good, 0, N(good_cases));
	tcase_add_loop_test(head, test_head_bad, 0, N(bad_cases));
	tcase_add_test(head, test_head_views);
	tcase_add_test(head, test_head_max_headers);
	suite_add_tcase(s, head);

	tcase_add_loop_test(chunked, test_chunked_table, 0, N(chunk_cases));
	tcase_add_loop_test(chunked, test_chunked_every_split, 0, N(chunk_cases));
	tcase_add_test(chunked, test_chunked_random_splits);
	tcase_add_test(chunked, test_chunked_max_size);
	tcase_add_test(chunked, test_chunked_done_is_sticky);
	tcase_add_test(chunked, test_chunked_long_lines);
	tcase_add_test(chunked, test_chunked_trailer_total);
	suite_add_tcase(s, chunked);
	return s;
}

int main(void)
{
	return unit_run(resp_suite());
}
