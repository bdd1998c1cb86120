/*
 * cors: the pure CORS decision. Request facts in; the matched policy, the
 * kind of request, the verdict, the rule that decided it, and the exact
 * status and CORS headers out. No libevent, no sockets, no allocation:
 * the server and `corsd --explain` call exactly this code.
 */
#ifndef CORSD_CORS_H
#define CORSD_CORS_H

#include <stdbool.h>
#include "hdr.h"
#include "hint.h"
#include "policy.h"
#include "str.h"

/* The joined Access-Control-Request-Headers lines are kept up to this size;
 * more is a "too many headers" denial anyway. */
#define CORS_ACRH_BUF 8192

/* Everything the decision may look at. Filled header by header with
 * cors_facts_add_header so the server and --explain read headers the same
 * way. Owns nothing but acrh_buf: the views borrow the request's bytes. */
struct cors_facts {
	struct str method;
	struct str path;   /* raw request path, query excluded */
	struct str host;   /* the Host header, STR_NULL if absent */
	struct str origin; /* the first Origin line, STR_NULL if absent */
	unsigned origin_lines;
	struct str acr_method; /* Access-Control-Request-Method, STR_NULL if absent */
	bool acr_private_network;
	struct str forwarded_proto; /* X-Forwarded-Proto sent by the client */
	bool acrh_present;
	bool acrh_overflow; /* the joined lines did not fit acrh_buf */
	size_t acrh_len;
	char acrh_buf[CORS_ACRH_BUF];
};

void cors_facts_init(struct cors_facts *f, struct str method, struct str path);
/* Feed one request header; the views must outlive the facts. */
void cors_facts_add_header(struct cors_facts *f, struct str name, struct str value);

enum cors_kind {
	CORS_KIND_PLAIN,     /* no Origin */
	CORS_KIND_ACTUAL,    /* Origin, not a preflight */
	CORS_KIND_PREFLIGHT, /* OPTIONS with Origin and Access-Control-Request-Method */
};

enum cors_verdict {
	CORS_VERDICT_NONE, /* no Origin, or no policy matched: not a CORS question */
	CORS_VERDICT_ALLOW,
	CORS_VERDICT_DENY,
};

/* Which rule decided: named in the access log, --explain and 403 bodies. */
enum cors_reason {
	CORS_REASON_NO_POLICY,      /* no policy matched Host + path */
	CORS_REASON_NO_ORIGIN,      /* no Origin: plain request */
	CORS_REASON_ORIGIN,         /* the origin matched (allow) or did not (deny) */
	CORS_REASON_ORIGIN_INVALID, /* not one valid serialized origin */
	CORS_REASON_SAME_ORIGIN,    /* enforce exemption: Origin is the request's own */
	CORS_REASON_METHOD,         /* requested method not allowed */
	CORS_REASON_HEADER,         /* a requested header not allowed (detail names it) */
	CORS_REASON_HEADER_INVALID, /* a requested header name is not a token */
	CORS_REASON_TOO_MANY_HEADERS,
	CORS_REASON_BAD_REQUEST, /* refused before any decision (400, 413, 501) */
};

#define CORS_MAX_OUT_HEADERS 8
#define CORS_MAX_VARY 4

struct cors_header {
	const char *name;
	struct str value; /* borrows the policy, the facts, or the decision */
};

/* Filled by cors_decide; borrows the policy and the facts, so it must not
 * outlive either. */
struct cors_decision {
	const struct policy_rule *rule; /* NULL: no policy matched */
	enum cors_kind kind;
	enum cors_verdict verdict;
	enum cors_reason reason;
	bool report_only;        /* denied, but answered as if allowed */
	const char *origin_rule; /* text of the origin entry that matched, or NULL */
	struct str detail;       /* the header or method that failed, if any */
	/* Under a denial: one line naming the closest rule and how the request
	 * differs from it (hint.h); "" otherwise. Safe to log and to send. */
	char hint[HINT_MAX];

	/* What to answer. local_status != 0: answer locally with this status
	 * and body (preflight under `answer`, or enforce's 403); 0: proxy. */
	int local_status;
	const char *body; /* for a local answer; "" for none */

	size_t nheaders;
	struct cors_header headers[CORS_MAX_OUT_HEADERS]; /* Access-Control-* to send */
	size_t nvary;
	const char *vary[CORS_MAX_VARY]; /* tokens to merge into Vary */

	char acah_buf[HDR_ACRH_MAX_BYTES + 2 * HDR_ACRH_MAX_NAMES + 1];
	char acam_buf[256]; /* report_only: the methods plus the one asked for */
	char body_buf[512];
};

/* An empty decision (no policy, plain, no headers, no hint), for callers
 * that may log one before cors_decide ran. cors_decide starts with it. */
void cors_decision_reset(struct cors_decision *d);
void cors_decide(const struct policy *p, const struct cors_facts *f, struct cors_decision *d);

const char *cors_kind_name(enum cors_kind k);       /* "preflight", "actual", "plain" */
const char *cors_verdict_name(enum cors_verdict v); /* "allowed", "denied", "none" */
const char *cors_reason_name(enum cors_reason r);   /* "origin", "method", ... */

#endif
