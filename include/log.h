/*
 * log: every line corsd writes to stderr, text or JSON, with control
 * characters and non-ASCII bytes escaped so a hostile request can never
 * forge or break a log line. Thread-safe: one write(2) per line.
 */
#ifndef CORSD_LOG_H
#define CORSD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include "policy.h"
#include "str.h"

/* Text: `TIMESTAMP LEVEL message key=value ...`; JSON: one object a line. */
void log_setup(enum policy_log_level level, enum policy_log_format format);
bool log_enabled(enum policy_log_level level);
void log_msg(enum policy_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A structured line: msg plus fields. num: the value is a number, written
 * bare in JSON. */
struct log_kv {
	const char *key;
	struct str val;
	bool num;
};
void log_kv(enum policy_log_level level, const char *msg, const struct log_kv *kv, size_t n);

#endif
