/*
 * The upstream's response head and the chunked decoder.
 *
 * Input: one byte of flags (bit 0: the request was HEAD; bits 1-3: how many
 * split sizes follow), that many bytes each giving the length of a piece,
 * then the bytes the upstream sent. The head, up to the blank line that
 * resp_head_end finds, goes to resp_head_parse; what follows it (or the whole
 * input when there is no head) goes to the chunked decoder three times: all
 * at once, in the fuzzer's pieces, and a byte at a time. The three must agree
 * on the body bytes, the error, the end and where it was: the upstream's
 * bytes arrive in whatever pieces TCP makes.
 */
#include <stdlib.h>

#include "resp.h"
#include "fuzz.h"

/* Bodies decoded here are never longer than their input. */
struct decoded {
	char *out;
	size_t len, used;
	int rc;
	bool done;
};

/* Feeds in[0..n) in pieces of the given sizes (cycled; 0 means "the rest"). */
static void decode(const char *in, size_t n, const uint8_t *sizes, size_t nsizes, struct decoded *d)
{
	struct resp_chunked c;
	size_t start = 0, k = 0;

	resp_chunked_init(&c);
	d->len = d->used = 0;
	d->rc = 0;
	while (start < n && !c.done) {
		size_t piece = nsizes ? sizes[k++ % nsizes] : 0;
		size_t end = piece == 0 || piece > n - start ? n : start + piece;
		size_t pos = start;

		while (pos < end && !c.done) {
			size_t used = 0, dlen = 0;
			const char *data = NULL;

			if (resp_chunked_step(&c, in + pos, end - pos, &used, &data, &dlen) < 0) {
				d->rc = -1;
				d->used = pos;
				d->done = c.done;
				return;
			}
			/* Progress until done, never past the piece. */
			FUZZ_CHECK(used > 0 || c.done);
			FUZZ_CHECK(used <= end - pos);
			if (dlen > 0) {
				/* The span is the tail of what this step consumed. */
				FUZZ_CHECK(data != NULL && data + dlen == in + pos + used);
				FUZZ_CHECK(d->len + dlen <= n);
				memcpy(d->out + d->len, data, dlen);
				d->len += dlen;
			}
			if (used == 0)
				break;
			pos += used;
		}
		start = pos < end ? pos : end;
		if (c.done)
			break;
	}
	d->used = start;
	d->done = c.done;
	if (d->done) {
		/* Done is sticky: nothing more is consumed. */
		size_t used = 1, dlen = 1;
		const char *data;

		FUZZ_CHECK(resp_chunked_step(&c, "0\r\n\r\n", 5, &used, &data, &dlen) == 0);
		FUZZ_CHECK(used == 0 && dlen == 0);
	}
}

static void check_head(const struct resp_head *h, const char *buf, size_t n, bool head_request)
{
	bool chunked = false;

	FUZZ_CHECK(h->status >= 100 && h->status <= 599);
	FUZZ_CHECK(h->minor == 0 || h->minor == 1);
	FUZZ_CHECK(fuzz_within(h->reason.p, h->reason.n, buf, n));
	FUZZ_CHECK(h->nheaders <= RESP_MAX_HEADERS);
	for (size_t i = 0; i < h->nheaders; i++) {
		const struct resp_header *x = &h->headers[i];

		FUZZ_CHECK(str_is_token(x->name) && fuzz_within(x->name.p, x->name.n, buf, n));
		FUZZ_CHECK(fuzz_within(x->value.p, x->value.n, buf, n) && !str_has_ctl(x->value));
		if (str_eq_ci(x->name, STR_LIT("Transfer-Encoding")))
			chunked = true;
	}
	switch (h->framing) {
	case RESP_BODY_NONE:
		break;
	case RESP_BODY_LENGTH:
		FUZZ_CHECK(h->content_length > 0 && !chunked);
		break;
	case RESP_BODY_CHUNKED:
		FUZZ_CHECK(chunked && h->content_length == 0);
		break;
	case RESP_BODY_CLOSE:
		/* Read until close: the connection cannot be reused. */
		FUZZ_CHECK(!h->keep_alive);
		break;
	}
	if (head_request || h->status < 200 || h->status == 204 || h->status == 304)
		FUZZ_CHECK(h->framing == RESP_BODY_NONE);
	/* Both framings: decoded, but never trusted again (RFC 9112 6.3). */
	if (chunked && h->framing != RESP_BODY_NONE)
		FUZZ_CHECK(h->content_length == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct resp_head head;
	struct decoded whole, split, bytewise;
	const uint8_t *sizes;
	size_t nsizes, hlen, blen;
	const char *body;
	bool head_request;
	char *buf;
	static const uint8_t one = 1;

	if (size < 1)
		return 0;
	head_request = data[0] & 1;
	nsizes = (data[0] >> 1) & 7;
	if (size < 1 + nsizes)
		return 0;
	sizes = data + 1;
	/* An exact-size copy, so ASan catches any read past the end. */
	size -= 1 + nsizes;
	buf = malloc(size ? size : 1);
	FUZZ_CHECK(buf != NULL);
	memcpy(buf, data + 1 + nsizes, size);

	hlen = resp_head_end(buf, size);
	FUZZ_CHECK(hlen <= size);
	if (hlen > 0) {
		/* The first blank line: a LF, then LF or CR LF. */
		FUZZ_CHECK(buf[hlen - 1] == '\n' && hlen >= 2);
		FUZZ_CHECK(buf[hlen - 2] == '\n' ||
		           (hlen >= 3 && buf[hlen - 2] == '\r' && buf[hlen - 3] == '\n'));
		FUZZ_CHECK(resp_head_end(buf, hlen) == hlen);
		FUZZ_CHECK(resp_head_end(buf, hlen - 1) == 0);
		if (resp_head_parse(buf, hlen, head_request, &head) == 0)
			check_head(&head, buf, hlen, head_request);
	}
	/* The parser on the whole input too: a head may be anything. */
	if (resp_head_parse(buf, size, head_request, &head) == 0)
		check_head(&head, buf, size, head_request);

	body = buf + hlen;
	blen = size - hlen;
	whole.out = malloc(blen + 1);
	split.out = malloc(blen + 1);
	bytewise.out = malloc(blen + 1);
	FUZZ_CHECK(whole.out && split.out && bytewise.out);
	decode(body, blen, NULL, 0, &whole);
	decode(body, blen, sizes, nsizes, &split);
	decode(body, blen, &one, 1, &bytewise);
	FUZZ_CHECK(whole.rc == split.rc && whole.rc == bytewise.rc);
	FUZZ_CHECK(whole.done == split.done && whole.done == bytewise.done);
	FUZZ_CHECK(whole.len == split.len && whole.len == bytewise.len);
	FUZZ_CHECK(memcmp(whole.out, split.out, whole.len) == 0);
	FUZZ_CHECK(memcmp(whole.out, bytewise.out, whole.len) == 0);
	/* Where it stopped: the end of the chunked message, or the error. */
	if (whole.rc == 0)
		FUZZ_CHECK(whole.used == split.used && whole.used == bytewise.used);
	FUZZ_CHECK(whole.len <= blen);
	free(whole.out);
	free(split.out);
	free(bytewise.out);
	free(buf);
	return 0;
}
