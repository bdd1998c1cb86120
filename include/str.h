/*
 * str: borrowed string views and the byte-level checks every parser shares
 * (ASCII case folding, RFC 9110 tokens, values free of CR/LF/NUL).
 * Never allocates except in str_dup; never touches libevent or YAML.
 */
#ifndef CORSD_STR_H
#define CORSD_STR_H

#include <stdbool.h>
#include <stddef.h>

/* A view into bytes someone else owns. p == NULL means "absent", which is
 * different from present-but-empty (p != NULL, n == 0). */
struct str {
	const char *p;
	size_t n;
};

#define STR_NULL ((struct str){NULL, 0})
#define STR_LIT(s) ((struct str){(s), sizeof(s) - 1})

struct str str_c(const char *s);         /* NULL -> STR_NULL */
bool str_eq(struct str a, struct str b); /* byte for byte */
bool str_bytes_eq_ci(const char *a, const char *b, size_t n);
/* ASCII case-insensitive. Inline: most comparisons of header names fail on
 * the length alone. */
static inline bool str_eq_ci(struct str a, struct str b)
{
	if (!a.p || !b.p)
		return !a.p && !b.p;
	return a.n == b.n && str_bytes_eq_ci(a.p, b.p, a.n);
}
bool str_starts_with(struct str s, struct str prefix);
bool str_ends_with_ci(struct str s, struct str suffix);
struct str str_trim_ows(struct str s); /* strip SP and HTAB both ends */
extern const unsigned char str_tchar_table[256];
/* RFC 9110 tchar */
static inline bool str_is_tchar(unsigned char c)
{
	return str_tchar_table[c] != 0;
}
bool str_is_token(struct str s); /* non-empty, all tchar */
bool str_has_ctl(struct str s);  /* any CR, LF or NUL */
/* Not tolower(): the locale must never change how protocol bytes compare. */
static inline char str_lower_c(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}
void str_lower(char *s, size_t n); /* in place, ASCII only */
char *str_dup(struct str s);       /* malloc'd, NUL-terminated; NULL on OOM */

#endif
