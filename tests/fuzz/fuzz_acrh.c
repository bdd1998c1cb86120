/*
 * The Access-Control-Request-Headers parser and comma-list membership.
 * Input: the header value, optionally followed by a NUL and a token to look
 * up. hdr_names_parse is checked against a plain reference reading of the
 * same rules (split at commas, trim SP/HTAB, skip empty elements, stop at the
 * first non-token, more than 64 names or 4 KiB of names is "too many"), and
 * hdr_list_has against the names it found.
 */
#include "hdr.h"
#include "fuzz.h"

static bool ref_is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ref_eq_ci(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++) {
		char x = a[i], y = b[i];

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

struct ref {
	enum hdr_list_status st;
	size_t n, bytes;
	const char *name[HDR_ACRH_MAX_NAMES];
	size_t len[HDR_ACRH_MAX_NAMES];
	const char *bad;
	size_t bad_len;
};

static void ref_parse(const char *v, size_t n, struct ref *r)
{
	size_t i = 0;

	r->st = HDR_LIST_OK;
	r->n = r->bytes = 0;
	while (i <= n) {
		size_t j = i, a, b;
		bool token = true;

		while (j < n && v[j] != ',')
			j++;
		a = i;
		b = j;
		while (a < b && (v[a] == ' ' || v[a] == '\t'))
			a++;
		while (b > a && (v[b - 1] == ' ' || v[b - 1] == '\t'))
			b--;
		i = j + 1;
		if (a == b)
			continue;
		for (size_t k = a; k < b; k++)
			token = token && ref_is_tchar((unsigned char)v[k]);
		if (!token) {
			r->st = HDR_LIST_INVALID;
			r->bad = v + a;
			r->bad_len = b - a;
			return;
		}
		if (r->n == HDR_ACRH_MAX_NAMES || r->bytes + (b - a) > HDR_ACRH_MAX_BYTES) {
			r->st = HDR_LIST_TOO_MANY;
			return;
		}
		r->name[r->n] = v + a;
		r->len[r->n++] = b - a;
		r->bytes += b - a;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *v = (const char *)data, *nul = memchr(v, '\0', size);
	size_t vn = nul ? (size_t)(nul - v) : size;
	struct str value = {v, vn}, token = STR_NULL;
	static struct hdr_names names;
	static struct ref ref;
	enum hdr_list_status st;
	bool has = false;

	if (nul)
		token = (struct str){nul + 1, size - vn - 1};

	st = hdr_names_parse(value, &names);
	ref_parse(v, vn, &ref);
	FUZZ_CHECK(st == ref.st);
	if (st == HDR_LIST_INVALID) {
		FUZZ_CHECK(names.bad.p == ref.bad && names.bad.n == ref.bad_len);
		FUZZ_CHECK(fuzz_within(names.bad.p, names.bad.n, v, vn));
		return 0;
	}
	FUZZ_CHECK(names.bad.p == NULL);
	if (st == HDR_LIST_TOO_MANY)
		return 0;

	FUZZ_CHECK(names.n == ref.n && names.bytes == ref.bytes);
	FUZZ_CHECK(names.n <= HDR_ACRH_MAX_NAMES && names.bytes <= HDR_ACRH_MAX_BYTES);
	for (size_t i = 0; i < names.n; i++) {
		FUZZ_CHECK(names.name[i].p == ref.name[i] && names.name[i].n == ref.len[i]);
		FUZZ_CHECK(fuzz_within(names.name[i].p, names.name[i].n, v, vn));
		FUZZ_CHECK(str_is_token(names.name[i]));
		/* Every name found is in the list, in any case. */
		FUZZ_CHECK(hdr_list_has(value, names.name[i]));
		if (token.p && ref_eq_ci(names.name[i].p, names.name[i].n, token.p, token.n))
			has = true;
	}
	/* For a token, membership is exactly "equal to one of the names". */
	if (token.p && str_is_token(token))
		FUZZ_CHECK(hdr_list_has(value, token) == has);
	if (token.p)
		(void)hdr_list_has(value, token);
	return 0;
}
