/*
 * hdr: header-level helpers shared by the decision and the proxy:
 * the lenient, bounded Access-Control-Request-Headers parser, comma-list
 * membership, the Vary merge and the hop-by-hop set.
 * Pure: no libevent, no allocation except hdr_vary_merge's result.
 */
#ifndef CORSD_HDR_H
#define CORSD_HDR_H

#include "str.h"

/* SPEC rule 1: more than this many names, or this many bytes of names, is a
 * denial ("too many headers"). */
#define HDR_ACRH_MAX_NAMES 64
#define HDR_ACRH_MAX_BYTES 4096

/* Vary tokens beyond this many make the merge answer "*": a hostile upstream
 * must not make the merge quadratic, and "*" is always safe for caches. */
#define HDR_VARY_MAX_TOKENS 128

/* More Connection lines than this in one request is refused (400): each
 * forwarded header is checked against every one of them. */
#define HDR_MAX_CONNECTION_LINES 16

enum hdr_list_status {
	HDR_LIST_OK = 0,
	HDR_LIST_TOO_MANY = 1, /* over HDR_ACRH_MAX_NAMES or HDR_ACRH_MAX_BYTES */
	HDR_LIST_INVALID = 2,  /* an element that is not a token */
};

/* Parsed names point into the parsed value; the caller keeps it alive. */
struct hdr_names {
	size_t n;
	size_t bytes; /* sum of the names' lengths */
	struct str name[HDR_ACRH_MAX_NAMES];
	struct str bad; /* with HDR_LIST_INVALID: the offending element */
};

/* Lenient comma list: optional whitespace, empty elements skipped, any case.
 * Several header lines are passed joined by ",". */
enum hdr_list_status hdr_names_parse(struct str value, struct hdr_names *out);

/* Does the comma-separated list contain token (case-insensitively)? */
bool hdr_list_has(struct str list, struct str token);

/* The fixed hop-by-hop set of SPEC rule 5 (Connection, Keep-Alive,
 * Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade). */
bool hdr_is_hop_by_hop(struct str name);

/* Access-Control-* (any case): never passed from the upstream to a client. */
bool hdr_is_access_control(struct str name);

/* Merge `upstream` (the upstream's Vary lines joined by ",", or STR_NULL)
 * with the tokens in add[0..nadd): upstream tokens first in their order and
 * spelling, then the added ones not already present (case-insensitive),
 * joined by ", ". A "*" anywhere, or more than HDR_VARY_MAX_TOKENS tokens,
 * gives "*". Returns a malloc'd string the caller frees, "" when there is
 * nothing to say, NULL on OOM. */
char *hdr_vary_merge(struct str upstream, const char *const *add, size_t nadd);

#endif
