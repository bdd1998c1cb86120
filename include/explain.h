/*
 * explain: a CORS decision told in full, for `corsd --explain` (text) and
 * the admin listener's GET /explain (JSON): the policy matched, the kind,
 * the verdict, the hint, the exact status and headers, and the rule trace,
 * the steps the decision took.
 *
 * cors_decide stays lean on the request path and records no steps; the
 * trace is re-derived here from the policy, the facts and the decision,
 * with the very functions cors_decide uses (policy_match, origin_rule_match,
 * hdr_names_parse). Pure: no libevent, no sockets; allocates freely, since
 * it never runs for proxied traffic. Every request byte in the output is
 * escaped (text: \xNN; JSON: string escapes), so a hostile value cannot
 * forge a line or break the JSON.
 */
#ifndef CORSD_EXPLAIN_H
#define CORSD_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>
#include "cors.h"
#include "policy.h"

#define EXPLAIN_MAX_STEPS 32
#define EXPLAIN_STEP_MAX 512

/* The steps, in order, each one line of printable ASCII. */
struct explain_trace {
	size_t n;
	char step[EXPLAIN_MAX_STEPS][EXPLAIN_STEP_MAX];
};

/* d must be cors_decide(p, f, d)'s result. */
void explain_trace(const struct policy *p, const struct cors_facts *f,
                   const struct cors_decision *d, struct explain_trace *t);

/* The --explain report: the `key: value` lines (policy, kind, verdict,
 * reason, hint, status), a blank line, the CORS headers and Vary (or
 * "(no CORS headers)"), then the local body if any after a blank line, then
 * a blank line and "trace:" with one numbered step per line. Returns a
 * malloc'd NUL-terminated string (length in *len), NULL on OOM. */
char *explain_text(const struct policy *p, const struct cors_facts *f,
                   const struct cors_decision *d, size_t *len);

/* The same as one JSON object (newline-terminated):
 *   {"policy": "name" | null, "kind", "verdict", "reason",
 *    "detail": str | null, "origin_rule": str | null, "report_only": bool,
 *    "hint": str | null, "status": 204 | 403 | null (null: proxied),
 *    "body": str | null, "trace": [str...],
 *    "headers": [{"name": str, "value": str}...], "vary": [str...],
 *    "request": {"method", "path", "host", "origin",
 *                "access_control_request_method",
 *                "access_control_request_headers" (str | null each),
 *                "access_control_request_private_network": bool}}
 * Strings are valid UTF-8: control characters become \u00XX, bytes that
 * are not UTF-8 become \uFFFD. malloc'd; NULL on OOM. */
char *explain_json(const struct policy *p, const struct cors_facts *f,
                   const struct cors_decision *d, size_t *len);

/*
 * Facts for the question "may this origin's script send this request?",
 * from the decoded parameters of GET /explain (NULL or "" = absent):
 * method (default GET), path (default "/"), host, origin, headers (the
 * comma-separated names the script sets) and private_network. When a
 * browser would preflight it (an origin, and a method other than GET, HEAD
 * and POST, or any header name, or private_network), the facts are those
 * of that preflight: OPTIONS with Access-Control-Request-Method: method,
 * -Headers: headers and -Private-Network: true. Otherwise those of the
 * request itself. The facts borrow the strings: keep them alive.
 * Returns 0, or -1 with *why set to a static one-line reason (a method
 * that is not a token, a path not starting with '/', CR, LF or NUL in a
 * value: what the server would refuse with 400).
 */
int explain_facts_from_params(struct cors_facts *f, const char *method, const char *path,
                              const char *host, const char *origin, const char *headers,
                              bool private_network, const char **why);

#endif
