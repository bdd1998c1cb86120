/*
 * config: the only user of libyaml. Turns a policy file into an immutable
 * struct policy, reporting every problem with its line and column.
 */
#ifndef CORSD_CONFIG_H
#define CORSD_CONFIG_H

#include <stddef.h>
#include "diag.h"
#include "policy.h"

/* Load `file`. Errors and warnings go to d (which the caller initialised with
 * the same file name). Returns the policy with one reference, or NULL when
 * there was any error. */
struct policy *config_load_file(const char *file, struct diag_list *d);

/* The same from bytes in memory (tests, fuzzing); `name` labels diagnostics. */
struct policy *config_load_buffer(const char *name, const char *buf, size_t len,
                                  struct diag_list *d);

/* "250ms", "5s", "2m", "1h", or a bare number of seconds; > 0. Returns 0 and
 * the milliseconds, or -1. Exposed for the unit tests. */
int config_parse_duration(const char *s, unsigned *ms);

#endif
