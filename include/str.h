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

struct str str_c(const char *s);            /* NULL -> STR_NULL */
bool str_eq(struct str a, struct str b);    /* byte for byte */
bool str_eq_ci(struct str a, struct str b); /* ASCII case-insensitive */
bool str_starts_with(struct str s, struct str prefix);
bool str_ends_with_ci(struct str s, struct str suffix);
struct str str_trim_ows(struct str s); /* strip SP and HTAB both ends */
bool str_is_tchar(unsigned char c);    /* RFC 9110 tchar */
bool str_is_token(struct str s);       /* non-empty, all tchar */
bool str_has_ctl(struct str s);        /* any CR, LF or NUL */
char str_lower_c(char c);
void str_lower(char *s, size_t n); /* in place, ASCII only */
char *str_dup(struct str s);       /* malloc'd, NUL-terminated; NULL on OOM */

#endif
