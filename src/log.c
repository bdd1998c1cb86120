/*
 * Log lines go to stderr, where journald and Docker collect them. Each line
 * is built in a bounded buffer and written with a single write(2), so lines
 * from several workers never interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 8192

static atomic_int log_level = POLICY_LOG_INFO;
static atomic_int log_format = POLICY_LOG_TEXT;

void log_setup(enum policy_log_level level, enum policy_log_format format)
{
	atomic_store(&log_level, (int)level);
	atomic_store(&log_format, (int)format);
}

bool log_enabled(enum policy_log_level level)
{
	return (int)level >= atomic_load(&log_level);
}

static const char *level_name(enum policy_log_level l)
{
	switch (l) {
	case POLICY_LOG_DEBUG:
		return "debug";
	case POLICY_LOG_INFO:
		return "info";
	case POLICY_LOG_WARN:
		return "warn";
	case POLICY_LOG_ERROR:
		break;
	}
	return "error";
}

struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	bool json;
};

static void put(struct line *l, const char *s, size_t n)
{
	/* Keep room for the closing "}\n"; a line too long is cut, never split. */
	if (n > sizeof(l->buf) - 3 - l->len)
		n = sizeof(l->buf) - 3 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

/* Escapes what could forge a line or break JSON: quotes, backslashes,
 * control characters and bytes >= 0x80. */
static void put_escaped(struct line *l, struct str s)
{
	char tmp[8];

	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			put(l, tmp, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			snprintf(tmp, sizeof(tmp), l->json ? "\\u%04x" : "\\x%02x", c);
			puts_(l, tmp);
		} else {
			put(l, (const char *)&s.p[i], 1);
		}
	}
}

static bool needs_quotes(struct str s)
{
	if (s.n == 0)
		return true;
	for (size_t i = 0; i < s.n; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\')
			return true;
	}
	return false;
}

static void begin(struct line *l, enum policy_log_level level, struct str msg)
{
	struct timespec ts;
	struct tm tm;
	char stamp[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	         (long)(ts.tv_nsec / 1000000) % 1000);
	l->len = 0;
	l->json = atomic_load(&log_format) == POLICY_LOG_JSON;
	if (l->json) {
		puts_(l, "{\"ts\":\"");
		puts_(l, stamp);
		puts_(l, "\",\"level\":\"");
		puts_(l, level_name(level));
		puts_(l, "\",\"msg\":\"");
		put_escaped(l, msg);
		puts_(l, "\"");
	} else {
		puts_(l, stamp);
		puts_(l, " ");
		puts_(l, level_name(level));
		puts_(l, " ");
		put_escaped(l, msg);
	}
}

static void field(struct line *l, const struct log_kv *kv)
{
	if (l->json) {
		puts_(l, ",\"");
		puts_(l, kv->key);
		puts_(l, "\":");
		if (kv->num && kv->val.n > 0) {
			put(l, kv->val.p, kv->val.n);
		} else {
			puts_(l, "\"");
			put_escaped(l, kv->val);
			puts_(l, "\"");
		}
		return;
	}
	puts_(l, " ");
	puts_(l, kv->key);
	puts_(l, "=");
	if (needs_quotes(kv->val)) {
		puts_(l, "\"");
		put_escaped(l, kv->val);
		puts_(l, "\"");
	} else {
		put(l, kv->val.p, kv->val.n);
	}
}

static void finish(struct line *l)
{
	if (l->json)
		l->buf[l->len++] = '}';
	l->buf[l->len++] = '\n';
	/* A failed write to stderr has nowhere to be reported. */
	if (write(STDERR_FILENO, l->buf, l->len) < 0)
		return;
}

void log_kv(enum policy_log_level level, const char *msg, const struct log_kv *kv, size_t n)
{
	struct line l;

	if (!log_enabled(level))
		return;
	begin(&l, level, str_c(msg));
	for (size_t i = 0; i < n; i++)
		field(&l, &kv[i]);
	finish(&l);
}

void log_msg(enum policy_log_level level, const char *fmt, ...)
{
	char msg[LOG_LINE_MAX / 2];
	struct line l;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	begin(&l, level, (struct str){msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1});
	finish(&l);
}
