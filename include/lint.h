/*
 * lint: the warnings `corsd -t` prints about a policy that loads but is
 * risky (SPEC "Lints"): origin rules that accept classic attack origins,
 * wildcards over public-suffix or shared-hosting domains, plain http or
 * "null" in a credentialed policy, max_age above Chromium's cap, and
 * headers: ["*"] where Authorization was probably not meant.
 * Pure: reads a loaded, immutable policy and only adds warnings to a diag
 * list; never fails a load by itself (--strict is the caller's choice).
 * No libevent, no YAML. Called by main.c for -t, and by the unit tests.
 */
#ifndef CORSD_LINT_H
#define CORSD_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include "diag.h"
#include "policy.h"

/* Chromium caps Access-Control-Max-Age at this many seconds. */
#define LINT_MAX_AGE_CAP 7200

/* Adds one warning per risky pattern, each at the position of the entry
 * that causes it, in file order. Returns the number of warnings added. */
size_t lint_policy(const struct policy *p, struct diag_list *d);

/* Is the domain (lowercase, no trailing dot, n bytes) on the short list of
 * public suffixes and shared-hosting domains in lint_suffixes.c? */
bool lint_is_public_suffix(const char *domain, size_t n);

/* The first suffix of that list that is the domain itself or lies under it
 * ("s3.amazonaws.com" for "amazonaws.com"), or NULL: a wildcard over the
 * domain then covers strangers' sites too. */
const char *lint_public_suffix_within(const char *domain, size_t n);

#endif
