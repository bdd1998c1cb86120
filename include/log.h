/*
 * log: every line corsd writes to stderr, text or JSON, with control
 * characters escaped so a hostile request can never forge a log line.
 * Thread-safe: one write(2) per line.
 */
#ifndef CORSD_LOG_H
#define CORSD_LOG_H

#include <stdbool.h>
#include "policy.h"

void log_setup(enum policy_log_level level, enum policy_log_format format);
bool log_enabled(enum policy_log_level level);
void log_msg(enum policy_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
