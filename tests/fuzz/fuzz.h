/*
 * What every libFuzzer target shares: a check that stops the run on a broken
 * invariant (libFuzzer reports the trap as a crash, with the input), and the
 * byte-level checks several targets make on what corsd would send or print.
 * Everything is static inline: each target is its own executable.
 */
#ifndef CORSD_FUZZ_H
#define CORSD_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Names the failed check before trapping: a bare trap leaves only a line
 * number in a stack trace to go on. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,       \
			        #cond);                                                            \
			__builtin_trap();                                                          \
		}                                                                                  \
	} while (0)

/* Is s[0..n) inside buf[0..len)? The parsers hand out views, never copies. */
static inline bool fuzz_within(const char *s, size_t n, const char *buf, size_t len)
{
	return s == NULL ? n == 0 : s >= buf && n <= len && s - buf <= (ptrdiff_t)(len - n);
}

/* No CR, LF or NUL: a header value corsd sends. */
static inline bool fuzz_no_crlfnul(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
			return false;
	return true;
}

/* Printable ASCII only, plus the bytes in `also`: one line of a report. */
static inline bool fuzz_printable(const char *s, size_t n, const char *also)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 || c >= 0x7f) && !(c && strchr(also, c)))
			return false;
	}
	return true;
}

/* No control character (C0 or DEL) but those in `also`; bytes above 0x7f,
 * which policy names may hold as UTF-8, are let through. */
static inline bool fuzz_no_ctl(const char *s, size_t n, const char *also)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 || c == 0x7f) && !(c && strchr(also, c)))
			return false;
	}
	return true;
}

/* Well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
static inline bool fuzz_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1, cp = c & 0x1f, min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2, cp = c & 0x0f, min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* Bytes into a NUL-terminated string owned by the caller (embedded NULs
 * just end it early, as they would in any C string corsd builds). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size, char *buf, size_t bufsz)
{
	size_t n = size < bufsz - 1 ? size : bufsz - 1;

	memcpy(buf, data, n);
	buf[n] = '\0';
	return buf;
}

#endif
