/*
 * str: borrowed string views and the byte-level checks shared by every parser.
 */
#include "str.h"

#include <stdlib.h>
#include <string.h>

/*
 * memcmp() with a NULL pointer is undefined even for zero bytes, and
 * STR_NULL carries one; every comparison goes through here.
 */
static bool bytes_eq(const char *a, const char *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

/* Most names compared are already in the same case: equal bytes cost one
 * compare; only a difference gets the letter check. */
bool str_bytes_eq_ci(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
		if (x == y)
			continue;
		x |= 0x20;
		if (x != (y | 0x20) || x < 'a' || x > 'z')
			return false;
	}
	return true;
}

struct str str_c(const char *s)
{
	if (!s)
		return STR_NULL;
	return (struct str){s, strlen(s)};
}

/* Absent equals only absent: a missing header is not an empty one. */
bool str_eq(struct str a, struct str b)
{
	if (!a.p || !b.p)
		return !a.p && !b.p;
	return a.n == b.n && bytes_eq(a.p, b.p, a.n);
}

bool str_starts_with(struct str s, struct str prefix)
{
	if (!s.p)
		return false;
	return prefix.n <= s.n && bytes_eq(s.p, prefix.p, prefix.n);
}

bool str_ends_with_ci(struct str s, struct str suffix)
{
	if (!s.p)
		return false;
	return suffix.n <= s.n && str_bytes_eq_ci(s.p + (s.n - suffix.n), suffix.p, suffix.n);
}

struct str str_trim_ows(struct str s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* RFC 9110 tchar: ALPHA, DIGIT and !#$%&'*+-.^_`|~ (a table: this runs for
 * every byte of every header name). */
const unsigned char str_tchar_table[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

bool str_is_token(struct str s)
{
	if (!s.p || s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (!str_tchar_table[(unsigned char)s.p[i]])
			return false;
	}
	return true;
}

bool str_has_ctl(struct str s)
{
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c <= '\r' && (c == '\r' || c == '\n' || c == '\0'))
			return true;
	}
	return false;
}

void str_lower(char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s[i] = str_lower_c(s[i]);
}

/* An absent view duplicates to "": NULL is reserved for out-of-memory. */
char *str_dup(struct str s)
{
	char *d = malloc(s.n + 1);

	if (!d)
		return NULL;
	if (s.n)
		memcpy(d, s.p, s.n);
	d[s.n] = '\0';
	return d;
}
