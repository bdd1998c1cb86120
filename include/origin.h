/*
 * origin: parse and normalise serialized origins (scheme://host[:port] or
 * "null"), and the origin rules of a policy: "*", exact, "*." wildcards with
 * an optional ":*" port, anchored POSIX extended regexes, and "null".
 * Matching is always done on the normalised form; callers echo the raw bytes.
 * Pure: no libevent, no YAML. Rules are built once by the loader.
 */
#ifndef CORSD_ORIGIN_H
#define CORSD_ORIGIN_H

#include <regex.h>
#include <stdbool.h>
#include "str.h"

/* Longer Origin values are not valid origins (browsers never send them). */
#define ORIGIN_MAX 512

/* A normalised origin: scheme and host lowercased, default port (http 80,
 * https 443, ws 80, wss 443) dropped. */
struct origin_norm {
	bool is_null;             /* the opaque origin "null" */
	char buf[ORIGIN_MAX + 1]; /* "scheme://host[:port]", NUL-terminated */
	size_t len;
	size_t scheme_len;         /* buf[0..scheme_len) is the scheme */
	size_t host_off, host_len; /* buf[host_off..+host_len) is the host */
	int port;                  /* explicit non-default port, or -1 */
};

/* Returns 0 and fills *out when raw is exactly one valid serialized origin;
 * -1 otherwise (userinfo, path, query, fragment, bad characters, CR/LF/NUL,
 * several values, empty host, bad port, too long). */
int origin_normalize(struct str raw, struct origin_norm *out);

enum origin_rule_kind {
	ORIGIN_RULE_ANY,      /* "*" */
	ORIGIN_RULE_EXACT,    /* https://a.example[:port] */
	ORIGIN_RULE_WILDCARD, /* "https://" "*.example.com" [:port|:*] */
	ORIGIN_RULE_REGEX,    /* ~ERE, anchored */
	ORIGIN_RULE_NULL,     /* "null" */
};

/* Owned by the policy rule that holds it; freed with origin_rule_free. */
struct origin_rule {
	enum origin_rule_kind kind;
	char *text;    /* as written in the policy file */
	int line, col; /* where it was written (1-based), for lints and logs */
	char *exact;   /* EXACT: the normalised origin */
	char *scheme;  /* WILDCARD: lowercased scheme */
	char *suffix;  /* WILDCARD: lowercased ".example.com" (with the dot) */
	int port;      /* WILDCARD: -1 default port only, 0 any port (":*"), else that port */
	regex_t re;    /* REGEX: compiled, anchored; valid only when has_re */
	bool has_re;
};

/* Parse one `origins` entry. On error returns -1 and writes a one-line
 * message (no file position) into err. */
int origin_rule_parse(const char *text, struct origin_rule *out, char *err, size_t errsz);
void origin_rule_free(struct origin_rule *r);

/* Does the rule accept this normalised origin? (ANY accepts everything,
 * including "null"; NULL accepts only "null"; the others never accept "null".) */
bool origin_rule_match(const struct origin_rule *r, const struct origin_norm *o);

/* In a POSIX extended regex: the ']' closing the bracket expression opened
 * at p (which points at its '['), or NULL when it is not closed. Classes
 * like [:alpha:] and a leading ']' are read as regcomp reads them. */
const char *origin_regex_bracket_end(const char *p);

#endif
