/*
 * policy: the immutable, reference-counted result of loading a policy file.
 * Built by config.c, then only read: the request path holds a reference and
 * never writes. A reload builds a new one and swaps it whole.
 * No libevent, no YAML here.
 */
#ifndef CORSD_POLICY_H
#define CORSD_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "origin.h"
#include "str.h"

/* A "HOST:PORT" or "[v6]:PORT" address to bind. */
struct policy_addr {
	char *text; /* as written */
	char *host; /* without brackets */
	uint16_t port;
	int line, col;
};

/* http://HOST[:PORT][/base-path] */
struct policy_upstream {
	char *text;      /* as written */
	char *host;      /* without brackets */
	uint16_t port;   /* 80 when absent */
	char *base_path; /* "" or "/x" without a trailing '/'; prefixed to the request target */
	char *hostport;  /* "host:port" / "[v6]:port", pool key */
};

enum policy_preflight { POLICY_PREFLIGHT_ANSWER, POLICY_PREFLIGHT_FORWARD };
enum policy_deny { POLICY_DENY_REJECT, POLICY_DENY_OMIT };
enum policy_log_level { POLICY_LOG_DEBUG, POLICY_LOG_INFO, POLICY_LOG_WARN, POLICY_LOG_ERROR };
enum policy_log_format { POLICY_LOG_TEXT, POLICY_LOG_JSON };

struct policy_rule {
	char *name;
	int line, col; /* of the policy's mapping, for lints */
	char *path;    /* "/" by default; starts with '/' */
	size_t path_len;
	char *host;                       /* lowercased, no port; NULL = any Host */
	struct policy_upstream *upstream; /* override, or NULL for the default */

	struct origin_rule *origins;
	size_t norigins;
	bool any_origin; /* "*" is among the origins */

	char **methods; /* case kept: methods compare case-sensitively */
	size_t nmethods;
	char **headers; /* allowed request headers */
	size_t nheaders;
	bool any_header; /* headers: ["*"] */
	char **expose;   /* expose_headers */
	size_t nexpose;
	bool any_expose; /* expose_headers: ["*"] */

	bool credentials;
	long max_age; /* seconds, -1 = absent */
	bool private_network;
	enum policy_preflight preflight;
	enum policy_deny deny;
	bool enforce;
	bool report_only;

	/* Header values precomputed at load so the request path only copies. */
	char *allow_methods_value; /* "GET, HEAD, POST" */
	char *expose_value;        /* "X-A, X-B", "*", or NULL when none */
	char *max_age_value;       /* "600", or NULL */
	bool vary_origin;          /* not a credential-less "*" policy (SPEC rule 3) */

	/* Where some values were written, for lints; 0 when absent. */
	int any_header_line, any_header_col; /* the "*" of headers */
	int max_age_line, max_age_col;       /* the max_age value */
};

struct policy {
	atomic_int refs;
	char *file;

	struct policy_addr *listen;
	size_t nlisten;
	struct policy_upstream upstream; /* the default upstream */
	int workers;                     /* >= 1; "auto" resolved at load */

	unsigned connect_ms, upstream_ms, client_ms, shutdown_ms;
	size_t max_header_bytes, max_body_bytes;
	unsigned max_connections;
	bool forwarded;

	enum policy_log_level log_level;
	enum policy_log_format log_format;
	bool log_access;

	bool has_admin;
	struct policy_addr admin;

	struct policy_rule *rules;
	size_t nrules;
};

/* An empty policy with SPEC's defaults and one reference; NULL on OOM. */
struct policy *policy_new(const char *file);
struct policy *policy_ref(struct policy *p);
void policy_unref(struct policy *p); /* frees on the last reference; NULL is fine */

/* The rule for this request: Host (port ignored, any case) must equal the
 * rule's host when it has one; among the candidates the longest path prefix
 * on a segment boundary wins, then list order. NULL when none matches. */
const struct policy_rule *policy_match(const struct policy *p, struct str host, struct str path);

/* SPEC: path equals prefix, or starts with it at a '/' boundary. */
bool policy_path_matches(struct str prefix, struct str path);

void policy_upstream_free(struct policy_upstream *u);

#endif
