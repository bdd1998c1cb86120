/*
 * The Vary merge. Input lines: the first is the upstream's Vary (its lines
 * joined by ","; absent when the input starts with "\n\n"), each other one a
 * token to add (as the decision adds Origin and the like). The result must be
 * "*" exactly when a "*" or too many distinct tokens were given; otherwise
 * the upstream's tokens first, in order and spelling, then the added ones,
 * with no duplicate in any case, nothing empty and no CR, LF or NUL.
 */
#include <stdlib.h>

#include "hdr.h"
#include "fuzz.h"

#define MAX_ADD 8

/* What a list holds once split at commas and trimmed of SP and HTAB; empty
 * elements and those with CR/LF/NUL are dropped, as the merge drops them. */
static size_t split(struct str v, struct str *out, size_t max, bool *star)
{
	size_t n = 0, i = 0;

	if (!v.p)
		return 0;
	while (i <= v.n) {
		size_t j = i;
		struct str e;

		while (j < v.n && v.p[j] != ',')
			j++;
		e = str_trim_ows((struct str){v.p + i, j - i});
		i = j + 1;
		if (e.n == 0 || str_has_ctl(e))
			continue;
		if (e.n == 1 && e.p[0] == '*')
			*star = true;
		if (n < max)
			out[n] = e;
		n++;
	}
	return n;
}

static bool seen_ci(const struct str *v, size_t n, struct str e)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq_ci(v[i], e))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct str want[4096], got[4096], up[4096];
	const char *p = (const char *)data, *end = p + size, *nl;
	char *copy, *add[MAX_ADD], *res;
	size_t nadd = 0, nwant = 0, ngot;
	struct str upstream;
	bool star = false, got_star = false;

	copy = malloc(size ? size : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data, size);
	p = copy;
	end = copy + size;
	nl = memchr(p, '\n', size);
	upstream = (struct str){p, nl ? (size_t)(nl - p) : size};
	if (size >= 2 && p[0] == '\n' && p[1] == '\n')
		upstream = STR_NULL;
	while (nl && nadd < MAX_ADD) {
		const char *s = nl + 1;

		nl = memchr(s, '\n', (size_t)(end - s));
		add[nadd] = str_dup((struct str){s, nl ? (size_t)(nl - s) : (size_t)(end - s)});
		FUZZ_CHECK(add[nadd] != NULL);
		/* The decision adds tokens, never lists: a comma would make the
		 * result read back as two tokens. */
		if (strchr(add[nadd], ',')) {
			free(add[nadd]);
			continue;
		}
		nadd++;
	}

	res = hdr_vary_merge(upstream, (const char *const *)add, nadd);
	FUZZ_CHECK(res != NULL);

	/* The expected tokens, in order, without duplicates (any case). */
	{
		size_t n = split(upstream, up, 4096, &star);

		for (size_t i = 0; i < n && i < 4096; i++)
			if (!seen_ci(want, nwant, up[i]))
				want[nwant++] = up[i];
		for (size_t i = 0; i < nadd; i++) {
			struct str e = str_trim_ows(str_c(add[i]));

			if (e.n == 0 || str_has_ctl(e))
				continue;
			if (e.n == 1 && e.p[0] == '*')
				star = true;
			if (!seen_ci(want, nwant, e) && nwant < 4096)
				want[nwant++] = e;
		}
		if (n > 4096)
			star = true; /* cannot be checked token by token; over the cap anyway */
	}

	FUZZ_CHECK(fuzz_no_crlfnul(res, strlen(res)));
	if (star || nwant > HDR_VARY_MAX_TOKENS) {
		FUZZ_CHECK(strcmp(res, "*") == 0);
	} else {
		ngot = split(str_c(res), got, 4096, &got_star);
		FUZZ_CHECK(!got_star);
		FUZZ_CHECK(ngot == nwant);
		for (size_t i = 0; i < ngot; i++) {
			/* Upstream tokens keep their spelling; added ones too. */
			FUZZ_CHECK(str_eq(got[i], want[i]));
			FUZZ_CHECK(!seen_ci(got, i, got[i]));
		}
		/* Joined by ", " exactly, nothing else. */
		{
			size_t total = ngot ? 2 * (ngot - 1) : 0;

			for (size_t i = 0; i < ngot; i++)
				total += got[i].n;
			FUZZ_CHECK(strlen(res) == total);
		}
	}
	free(res);
	for (size_t i = 0; i < nadd; i++)
		free(add[i]);
	free(copy);
	return 0;
}
