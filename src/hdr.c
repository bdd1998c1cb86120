/*
 * hdr: header-level helpers shared by the CORS decision and the proxy.
 */
#include "hdr.h"

#include <stdlib.h>
#include <string.h>

/*
 * Comma-list cursor: hands out one OWS-trimmed element per call, empty ones
 * included, so every list in this file is split the same way. Each byte is
 * looked at once, which keeps every caller linear in the value's length.
 */
struct list_iter {
	const char *p;
	const char *end;
	bool done;
};

static void list_init(struct list_iter *it, struct str list)
{
	it->p = list.p;
	it->end = list.p ? list.p + list.n : NULL;
	it->done = list.p == NULL;
}

static bool list_next(struct list_iter *it, struct str *elem)
{
	const char *start, *comma;

	if (it->done)
		return false;
	start = it->p;
	comma = memchr(start, ',', (size_t)(it->end - start));
	if (comma) {
		it->p = comma + 1;
	} else {
		comma = it->end;
		it->done = true;
	}
	*elem = str_trim_ows((struct str){start, (size_t)(comma - start)});
	return true;
}

/*
 * Duplicates are kept: browsers never send them (Fetch sorts and dedupes the
 * list), keeping them costs nothing in the decision, and counting every name
 * sent against the limits keeps the work strictly linear.
 */
enum hdr_list_status hdr_names_parse(struct str value, struct hdr_names *out)
{
	struct list_iter it;
	struct str e;

	out->n = 0;
	out->bytes = 0;
	out->bad = STR_NULL;

	list_init(&it, value);
	while (list_next(&it, &e)) {
		if (e.n == 0)
			continue;
		if (!str_is_token(e)) {
			out->bad = e;
			return HDR_LIST_INVALID;
		}
		/* Stop at the first name over a limit, whatever follows it. */
		if (out->n == HDR_ACRH_MAX_NAMES || e.n > HDR_ACRH_MAX_BYTES - out->bytes)
			return HDR_LIST_TOO_MANY;
		out->name[out->n++] = e;
		out->bytes += e.n;
	}
	return HDR_LIST_OK;
}

bool hdr_list_has(struct str list, struct str token)
{
	struct list_iter it;
	struct str e;

	if (!token.p || token.n == 0)
		return false;
	list_init(&it, list);
	while (list_next(&it, &e)) {
		if (str_eq_ci(e, token))
			return true;
	}
	return false;
}

bool hdr_is_hop_by_hop(struct str name)
{
	static const struct str hop[] = {
	    STR_LIT("Connection"), STR_LIT("Keep-Alive"), STR_LIT("Proxy-Connection"),
	    STR_LIT("TE"),         STR_LIT("Trailer"),    STR_LIT("Transfer-Encoding"),
	    STR_LIT("Upgrade"),
	};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++) {
		if (str_eq_ci(name, hop[i]))
			return true;
	}
	return false;
}

bool hdr_is_access_control(struct str name)
{
	static const struct str prefix = STR_LIT("access-control-");

	return name.p && name.n >= prefix.n && str_eq_ci((struct str){name.p, prefix.n}, prefix);
}

static char *dup_cstr(const char *s)
{
	return str_dup(str_c(s));
}

/*
 * Adds e to tok[] unless an equal token (any case) is already there. Returns
 * false when the list would grow past HDR_VARY_MAX_TOKENS. Distinct tokens
 * are what counts: an upstream repeating one token is collapsed, not punished.
 */
static bool vary_add(struct str *tok, size_t *ntok, struct str e)
{
	for (size_t i = 0; i < *ntok; i++) {
		if (str_eq_ci(tok[i], e))
			return true;
	}
	if (*ntok == HDR_VARY_MAX_TOKENS)
		return false;
	tok[(*ntok)++] = e;
	return true;
}

char *hdr_vary_merge(struct str upstream, const char *const *add, size_t nadd)
{
	static const struct str star = STR_LIT("*");
	struct str tok[HDR_VARY_MAX_TOKENS];
	size_t ntok = 0, len = 0;
	struct list_iter it;
	struct str e;
	char *out, *w;

	list_init(&it, upstream);
	while (list_next(&it, &e)) {
		/* A CR/LF/NUL must never be copied into the header we write. */
		if (e.n == 0 || str_has_ctl(e))
			continue;
		if (str_eq(e, star) || !vary_add(tok, &ntok, e))
			return dup_cstr("*");
	}
	for (size_t i = 0; i < nadd; i++) {
		e = str_trim_ows(str_c(add[i]));
		if (!e.p || e.n == 0 || str_has_ctl(e))
			continue;
		if (str_eq(e, star) || !vary_add(tok, &ntok, e))
			return dup_cstr("*");
	}

	for (size_t i = 0; i < ntok; i++)
		len += tok[i].n + (i ? 2 : 0);
	out = malloc(len + 1);
	if (!out)
		return NULL;
	w = out;
	for (size_t i = 0; i < ntok; i++) {
		if (i) {
			memcpy(w, ", ", 2);
			w += 2;
		}
		memcpy(w, tok[i].p, tok[i].n);
		w += tok[i].n;
	}
	*w = '\0';
	return out;
}
