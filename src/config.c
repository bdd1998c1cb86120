/*
 * config: the policy file loader and the only user of libyaml.
 *
 * The whole file is loaded as a libyaml document first, then walked. Every
 * problem becomes a diagnostic at the line and column of the key or value at
 * fault, and the walk keeps going so one run shows the user every mistake.
 * Anything that fails leaves fields half-filled inside a policy that is then
 * released whole, so no path needs its own cleanup.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* Bounds that keep a hostile or mistaken file (aliases multiply work) from
 * costing more than a real deployment ever needs. */
#define CONFIG_FILE_MAX (4u << 20)
#define CONFIG_MAX_POLICIES 1000
#define CONFIG_MAX_LIST 1000
#define CONFIG_MAX_ORIGINS 10000
#define CONFIG_MAX_WORKERS 256
#define CONFIG_MAX_NAME 128
#define CONFIG_MAX_HEADER_BYTES (1u << 20)
#define CONFIG_MIN_HEADER_BYTES 64
/* Bodies are held whole in memory before forwarding (SPEC), so cap them. */
#define CONFIG_MAX_BODY_BYTES (1u << 30)
#define CONFIG_MAX_CONNECTIONS 1000000
#define CONFIG_MAX_MAX_AGE 2147483647L

struct loader {
	yaml_document_t *doc;
	struct diag_list *d;
	struct policy *p;
	size_t norigins;
	bool oom_reported;
};

#define LINE(n) ((int)(n)->start_mark.line + 1)
#define COL(n) ((int)(n)->start_mark.column + 1)
#define SVAL(n) ((const char *)(n)->data.scalar.value)

static void oom(struct loader *ld)
{
	if (!ld->oom_reported)
		diag_error(ld->d, 0, 0, "out of memory");
	ld->oom_reported = true;
}

static char *xstrdup(struct loader *ld, const char *s)
{
	char *r = strdup(s);

	if (!r)
		oom(ld);
	return r;
}

static yaml_node_t *node_at(struct loader *ld, int idx)
{
	return yaml_document_get_node(ld->doc, idx);
}

/* YAML's null is a plain scalar spelled "", "~" or null; quoted, it is a string. */
static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(SVAL(n), nulls[i]) == 0)
			return true;
	return false;
}

/* How a node reads in a message: "a list", "a mapping", null, or the scalar
 * quoted, escaped and cut so each diagnostic stays on one short line. */
static const char *describe(const yaml_node_t *n, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (is_null(n))
		return "null";
	buf[o++] = '"';
	for (size_t i = 0; i < n->data.scalar.length; i++) {
		unsigned char c = n->data.scalar.value[i];

		if (o + 8 >= size || i >= 60) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

#define DESC(n) describe((n), (char[96]){0}, 96)

static void err_type(struct loader *ld, const char *what, const char *expected,
                     const yaml_node_t *n)
{
	diag_error(ld->d, LINE(n), COL(n), "%s: expected %s, got %s", what, expected, DESC(n));
}

/* A scalar that is not null and holds no NUL byte (a "\0" escape would
 * silently cut every C string made from it). */
static const char *get_str(struct loader *ld, const char *what, const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || is_null(n)) {
		err_type(ld, what, "a string", n);
		return NULL;
	}
	if (strlen(SVAL(n)) != n->data.scalar.length) {
		diag_error(ld->d, LINE(n), COL(n), "%s: must not contain a NUL byte", what);
		return NULL;
	}
	return SVAL(n);
}

/* Only YAML 1.2's spellings: yes/no/on/off are strings there, and reading
 * them as booleans is a classic YAML trap. Quoting does not change the
 * meaning, so "true" is true as well. */
static int get_bool(struct loader *ld, const char *what, const yaml_node_t *n, bool *out)
{
	static const char *const t[] = {"true", "True", "TRUE"};
	static const char *const f[] = {"false", "False", "FALSE"};

	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		for (size_t i = 0; i < 3; i++) {
			if (strcmp(SVAL(n), t[i]) == 0) {
				*out = true;
				return 0;
			}
			if (strcmp(SVAL(n), f[i]) == 0) {
				*out = false;
				return 0;
			}
		}
	}
	err_type(ld, what, "a boolean (true or false)", n);
	return -1;
}

/* A decimal integer, optionally negative; saturates far beyond any bound the
 * callers accept so range checks report "too large" rather than wrapping. */
static bool parse_int(const yaml_node_t *n, long long *out)
{
	const char *s;
	bool neg = false;
	long long v = 0;

	if (n->type != YAML_SCALAR_NODE || is_null(n))
		return false;
	s = SVAL(n);
	if (*s == '-') {
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		if (v < 1000000000000000LL)
			v = v * 10 + (*s - '0');
	if (*s != '\0' || strlen(SVAL(n)) != n->data.scalar.length)
		return false;
	*out = neg ? -v : v;
	return true;
}

static int get_int(struct loader *ld, const char *what, const yaml_node_t *n, long long *out)
{
	if (parse_int(n, out))
		return 0;
	err_type(ld, what, "an integer", n);
	return -1;
}

static int get_enum(struct loader *ld, const char *what, const yaml_node_t *n,
                    const char *const *choices, int *out)
{
	char expected[128] = "";
	size_t nchoices = 0;

	while (choices[nchoices])
		nchoices++;
	if (n->type == YAML_SCALAR_NODE && !is_null(n)) {
		for (size_t i = 0; i < nchoices; i++) {
			if (strcmp(SVAL(n), choices[i]) == 0) {
				*out = (int)i;
				return 0;
			}
		}
	}
	for (size_t i = 0; i < nchoices; i++) {
		const char *sep = i == 0 ? "" : i + 1 == nchoices ? " or " : ", ";
		size_t o = strlen(expected);

		snprintf(expected + o, sizeof(expected) - o, "%s%s", sep, choices[i]);
	}
	err_type(ld, what, expected, n);
	return -1;
}

static bool want_seq(struct loader *ld, const char *what, const yaml_node_t *n)
{
	if (n->type == YAML_SEQUENCE_NODE)
		return true;
	err_type(ld, what, "a list", n);
	return false;
}

static bool want_map(struct loader *ld, const char *what, const yaml_node_t *n)
{
	if (n->type == YAML_MAPPING_NODE)
		return true;
	err_type(ld, what, "a mapping", n);
	return false;
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Check one key of a mapping: a string, not seen before in this mapping, and
 * one of `keys`. Returns its index in keys, or -1 once the problem is told. */
static int map_key(struct loader *ld, const yaml_node_t *map, const yaml_node_pair_t *pair,
                   const char *const *keys, const char *where)
{
	const yaml_node_t *k = node_at(ld, pair->key);
	const char *name;
	const char *hint = NULL;
	size_t best = 3;

	if (!k || k->type != YAML_SCALAR_NODE || is_null(k)) {
		if (k)
			diag_error(ld->d, LINE(k), COL(k), "expected a key name, got %s", DESC(k));
		return -1;
	}
	name = SVAL(k);
	for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
		const yaml_node_t *prev = node_at(ld, q->key);

		if (prev && prev->type == YAML_SCALAR_NODE &&
		    prev->data.scalar.length == k->data.scalar.length &&
		    memcmp(prev->data.scalar.value, k->data.scalar.value, k->data.scalar.length) ==
		        0) {
			diag_error(ld->d, LINE(k), COL(k), "duplicate key %s (first at line %d)",
			           DESC(k), LINE(prev));
			return -1;
		}
	}
	for (int i = 0; keys[i]; i++) {
		if (strcmp(name, keys[i]) == 0 && strlen(name) == k->data.scalar.length)
			return i;
		size_t dist = edit_distance(name, keys[i]);

		if (dist < best && dist < strlen(keys[i])) {
			best = dist;
			hint = keys[i];
		}
	}
	if (strcmp(name, "<<") == 0)
		diag_error(ld->d, LINE(k), COL(k),
		           "unknown key \"<<\"%s (YAML merge keys are not supported)", where);
	else if (hint)
		diag_error(ld->d, LINE(k), COL(k), "unknown key %s%s (did you mean \"%s\"?)",
		           DESC(k), where, hint);
	else
		diag_error(ld->d, LINE(k), COL(k), "unknown key %s%s", DESC(k), where);
	return -1;
}

/* The value node of `key` in map, without any checking; NULL when absent. */
static yaml_node_t *map_find(struct loader *ld, const yaml_node_t *map, const char *key)
{
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top;
	     q++) {
		const yaml_node_t *k = node_at(ld, q->key);

		if (k && k->type == YAML_SCALAR_NODE && strcmp(SVAL(k), key) == 0)
			return node_at(ld, q->value);
	}
	return NULL;
}

int config_parse_duration(const char *s, unsigned *ms)
{
	unsigned long long v = 0, mult;
	const char *p = s;

	if (!s)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long long)(*p - '0');
		if (v > UINT_MAX)
			return -1;
	}
	if (p == s)
		return -1;
	if (*p == '\0' || strcmp(p, "s") == 0)
		mult = 1000;
	else if (strcmp(p, "ms") == 0)
		mult = 1;
	else if (strcmp(p, "m") == 0)
		mult = 60 * 1000;
	else if (strcmp(p, "h") == 0)
		mult = 3600 * 1000;
	else
		return -1;
	v *= mult;
	if (v == 0 || v > UINT_MAX)
		return -1;
	*ms = (unsigned)v;
	return 0;
}

static bool valid_hostname(const char *s, size_t n)
{
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_'))
			return false;
	}
	return true;
}

static bool valid_ipv6(const char *s, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 1];
	struct in6_addr a;

	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, &a) == 1;
}

/* 1-5 digits; -1 when not a port number at all. */
static long parse_port(const char *s, size_t n)
{
	long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "HOST:PORT" or "[v6]:PORT"; port 0 asks the kernel for any free port. */
static int parse_addr(struct loader *ld, const char *what, const yaml_node_t *n,
                      struct policy_addr *out)
{
	const char *s = get_str(ld, what, n);
	const char *host, *port;
	size_t hostlen;
	long pv;

	if (!s)
		return -1;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':' || !valid_ipv6(s + 1, (size_t)(end - s - 1)))
			goto bad;
		host = s + 1;
		hostlen = (size_t)(end - s - 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon)
			goto bad;
		host = s;
		hostlen = (size_t)(colon - s);
		port = colon + 1;
		if (memchr(host, ':', hostlen)) {
			diag_error(ld->d, LINE(n), COL(n),
			           "%s: IPv6 addresses must be in brackets, as in \"[::1]:8080\"",
			           what);
			return -1;
		}
		if (!valid_hostname(host, hostlen))
			goto bad;
	}
	pv = parse_port(port, strlen(port));
	if (pv < 0 || pv > 65535) {
		diag_error(ld->d, LINE(n), COL(n), "%s: invalid port in %s (expected 0-65535)",
		           what, DESC(n));
		return -1;
	}
	out->text = xstrdup(ld, s);
	out->host = strndup(host, hostlen);
	if (!out->host)
		oom(ld);
	out->port = (uint16_t)pv;
	out->line = LINE(n);
	out->col = COL(n);
	return out->text && out->host ? 0 : -1;
bad:
	diag_error(ld->d, LINE(n), COL(n),
	           "%s: invalid address %s (expected HOST:PORT or [IPv6]:PORT)", what, DESC(n));
	return -1;
}

static bool path_char_ok(unsigned char c)
{
	return c > 0x20 && c != 0x7f && c != '?' && c != '#';
}

/* http://HOST[:PORT][/base-path] */
static int parse_upstream(struct loader *ld, const char *what, const yaml_node_t *n,
                          struct policy_upstream *u)
{
	const char *s = get_str(ld, what, n);
	const char *auth, *auth_end, *host, *portp = NULL, *path;
	size_t hostlen, pathlen;
	long port = 80;
	bool v6 = false;
	int len;

	if (!s)
		return -1;
	if (strncasecmp(s, "https://", 8) == 0) {
		diag_error(ld->d, LINE(n), COL(n),
		           "%s: https upstreams are not supported; use http:// "
		           "(terminate TLS in front of the upstream)",
		           what);
		return -1;
	}
	if (strncasecmp(s, "http://", 7) != 0)
		goto bad;
	if (strpbrk(s, "?#")) {
		diag_error(ld->d, LINE(n), COL(n), "%s: a query or fragment is not allowed in %s",
		           what, DESC(n));
		return -1;
	}
	auth = s + 7;
	auth_end = auth + strcspn(auth, "/");
	if (memchr(auth, '@', (size_t)(auth_end - auth))) {
		diag_error(ld->d, LINE(n), COL(n), "%s: userinfo is not allowed in %s", what,
		           DESC(n));
		return -1;
	}
	if (*auth == '[') {
		const char *end = memchr(auth, ']', (size_t)(auth_end - auth));

		if (!end || !valid_ipv6(auth + 1, (size_t)(end - auth - 1)))
			goto bad;
		host = auth + 1;
		hostlen = (size_t)(end - auth - 1);
		v6 = true;
		if (end + 1 < auth_end) {
			if (end[1] != ':')
				goto bad;
			portp = end + 2;
		}
	} else {
		const char *colon = memchr(auth, ':', (size_t)(auth_end - auth));

		host = auth;
		hostlen = (size_t)((colon ? colon : auth_end) - auth);
		if (colon)
			portp = colon + 1;
		if (!valid_hostname(host, hostlen))
			goto bad;
	}
	if (portp) {
		port = parse_port(portp, (size_t)(auth_end - portp));
		if (port < 1 || port > 65535) {
			diag_error(ld->d, LINE(n), COL(n),
			           "%s: invalid port in %s (expected 1-65535)", what, DESC(n));
			return -1;
		}
	}
	path = auth_end;
	pathlen = strlen(path);
	for (size_t i = 0; i < pathlen; i++)
		if (!path_char_ok((unsigned char)path[i]))
			goto bad;
	/* The base path is joined with a request target that starts with '/'. */
	while (pathlen > 0 && path[pathlen - 1] == '/')
		pathlen--;

	u->text = xstrdup(ld, s);
	u->host = strndup(host, hostlen);
	u->base_path = strndup(path, pathlen);
	if (!u->text || !u->host || !u->base_path) {
		oom(ld);
		return -1;
	}
	str_lower(u->host, hostlen);
	len = snprintf(NULL, 0, v6 ? "[%s]:%ld" : "%s:%ld", u->host, port);
	u->hostport = malloc((size_t)len + 1);
	if (!u->hostport) {
		oom(ld);
		return -1;
	}
	snprintf(u->hostport, (size_t)len + 1, v6 ? "[%s]:%ld" : "%s:%ld", u->host, port);
	u->port = (uint16_t)port;
	return 0;
bad:
	diag_error(ld->d, LINE(n), COL(n),
	           "%s: invalid URL %s (expected http://HOST[:PORT][/base-path])", what, DESC(n));
	return -1;
}

static void load_listen(struct loader *ld, const yaml_node_t *n)
{
	struct policy *p = ld->p;
	struct policy_addr *v;
	size_t count, nv = 0;

	if (n->type == YAML_SCALAR_NODE) {
		count = 1;
	} else if (n->type == YAML_SEQUENCE_NODE) {
		count = seq_len(n);
		if (count == 0) {
			diag_error(ld->d, LINE(n), COL(n), "listen: must not be empty");
			return;
		}
		if (count > CONFIG_MAX_LIST) {
			diag_error(ld->d, LINE(n), COL(n),
			           "listen: too many addresses (at most %d)", CONFIG_MAX_LIST);
			return;
		}
	} else {
		err_type(ld, "listen", "a string or a list of strings", n);
		return;
	}
	v = calloc(count, sizeof(*v));
	if (!v) {
		oom(ld);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item =
		    n->type == YAML_SCALAR_NODE ? n : node_at(ld, n->data.sequence.items.start[i]);
		struct policy_addr a = {0};

		if (parse_addr(ld, "listen", item, &a) < 0) {
			free(a.text);
			free(a.host);
			continue;
		}
		for (size_t j = 0; j < nv && a.port != 0; j++) {
			if (v[j].port == a.port && strcasecmp(v[j].host, a.host) == 0) {
				diag_error(ld->d, a.line, a.col,
				           "listen: duplicate address %s (first at line %d)",
				           DESC(item), v[j].line);
				break;
			}
		}
		v[nv++] = a;
	}
	for (size_t i = 0; i < p->nlisten; i++) {
		free(p->listen[i].text);
		free(p->listen[i].host);
	}
	free(p->listen);
	p->listen = v;
	p->nlisten = nv;
}

static void load_workers(struct loader *ld, const yaml_node_t *n)
{
	long long v;

	if (n->type == YAML_SCALAR_NODE && strcmp(SVAL(n), "auto") == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		ld->p->workers = cpus < 1                    ? 1
		                 : cpus > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS
		                                             : (int)cpus;
		return;
	}
	if (!parse_int(n, &v)) {
		err_type(ld, "workers", "an integer or \"auto\"", n);
		return;
	}
	if (v < 1 || v > CONFIG_MAX_WORKERS) {
		diag_error(ld->d, LINE(n), COL(n), "workers: must be between 1 and %d, or \"auto\"",
		           CONFIG_MAX_WORKERS);
		return;
	}
	ld->p->workers = (int)v;
}

static void load_timeouts(struct loader *ld, const yaml_node_t *map)
{
	static const char *const keys[] = {"connect", "upstream", "client", "shutdown", NULL};
	static const char *const whats[] = {"timeouts.connect", "timeouts.upstream",
	                                    "timeouts.client", "timeouts.shutdown"};
	unsigned *dst[] = {&ld->p->connect_ms, &ld->p->upstream_ms, &ld->p->client_ms,
	                   &ld->p->shutdown_ms};

	if (!want_map(ld, "timeouts", map))
		return;
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top;
	     q++) {
		int k = map_key(ld, map, q, keys, " in timeouts");
		const yaml_node_t *v = node_at(ld, q->value);
		const char *s;

		if (k < 0 || !v)
			continue;
		if (v->type != YAML_SCALAR_NODE || is_null(v)) {
			err_type(ld, whats[k], "a duration", v);
			continue;
		}
		s = get_str(ld, whats[k], v);
		if (s && config_parse_duration(s, dst[k]) < 0)
			diag_error(ld->d, LINE(v), COL(v),
			           "%s: invalid duration %s (expected a number > 0 with an "
			           "optional unit: ms, s, m or h, as in 250ms, 5s, 2m)",
			           whats[k], DESC(v));
	}
}

static void load_limits(struct loader *ld, const yaml_node_t *map)
{
	static const char *const keys[] = {"max_header_bytes", "max_body_bytes", "max_connections",
	                                   NULL};
	static const char *const whats[] = {"limits.max_header_bytes", "limits.max_body_bytes",
	                                    "limits.max_connections"};
	static const long long lo[] = {CONFIG_MIN_HEADER_BYTES, 1, 1};
	static const long long hi[] = {CONFIG_MAX_HEADER_BYTES, CONFIG_MAX_BODY_BYTES,
	                               CONFIG_MAX_CONNECTIONS};

	if (!want_map(ld, "limits", map))
		return;
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top;
	     q++) {
		int k = map_key(ld, map, q, keys, " in limits");
		const yaml_node_t *v = node_at(ld, q->value);
		long long x;

		if (k < 0 || !v || get_int(ld, whats[k], v, &x) < 0)
			continue;
		if (x < lo[k] || x > hi[k]) {
			diag_error(ld->d, LINE(v), COL(v), "%s: must be between %lld and %lld",
			           whats[k], lo[k], hi[k]);
			continue;
		}
		if (k == 0)
			ld->p->max_header_bytes = (size_t)x;
		else if (k == 1)
			ld->p->max_body_bytes = (size_t)x;
		else
			ld->p->max_connections = (unsigned)x;
	}
}

static void load_log(struct loader *ld, const yaml_node_t *map)
{
	static const char *const keys[] = {"level", "format", "access", NULL};
	static const char *const levels[] = {"debug", "info", "warn", "error", NULL};
	static const char *const formats[] = {"text", "json", NULL};

	if (!want_map(ld, "log", map))
		return;
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top;
	     q++) {
		int k = map_key(ld, map, q, keys, " in log");
		const yaml_node_t *v = node_at(ld, q->value);
		int e;

		if (k < 0 || !v)
			continue;
		if (k == 0 && get_enum(ld, "log.level", v, levels, &e) == 0)
			ld->p->log_level = (enum policy_log_level)e;
		else if (k == 1 && get_enum(ld, "log.format", v, formats, &e) == 0)
			ld->p->log_format = (enum policy_log_format)e;
		else if (k == 2)
			get_bool(ld, "log.access", v, &ld->p->log_access);
	}
}

static void load_admin(struct loader *ld, const yaml_node_t *map)
{
	static const char *const keys[] = {"listen", NULL};
	bool have_listen = false;

	if (!want_map(ld, "admin", map))
		return;
	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top;
	     q++) {
		const yaml_node_t *v = node_at(ld, q->value);

		if (map_key(ld, map, q, keys, " in admin") < 0 || !v)
			continue;
		have_listen = true;
		if (parse_addr(ld, "admin.listen", v, &ld->p->admin) == 0)
			ld->p->has_admin = true;
	}
	if (!have_listen)
		diag_error(ld->d, LINE(map), COL(map), "missing required key \"listen\" in admin");
}

/* Per-rule positions the cross-policy checks need, kept beside the rules. */
struct rule_pos {
	int name_line, name_col; /* 0 when the name is the default */
	int path_line, path_col; /* the policy's own position when path is absent */
	bool bad_key;            /* host or path was rejected: no duplicate check */
};

enum {
	P_NAME,
	P_PATH,
	P_HOST,
	P_UPSTREAM,
	P_ORIGINS,
	P_METHODS,
	P_HEADERS,
	P_EXPOSE,
	P_CREDENTIALS,
	P_MAX_AGE,
	P_PRIVATE_NETWORK,
	P_PREFLIGHT,
	P_DENY,
	P_ENFORCE,
	P_REPORT_ONLY,
};

static const char *const policy_keys[] = {
    "name",    "path",           "host",        "upstream", "origins",         "methods",
    "headers", "expose_headers", "credentials", "max_age",  "private_network", "preflight",
    "deny",    "enforce",        "report_only", NULL,
};

static bool valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > CONFIG_MAX_NAME)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void load_path(struct loader *ld, const yaml_node_t *n, struct policy_rule *r)
{
	const char *s = get_str(ld, "path", n);
	char *dup;

	if (!s)
		return;
	if (s[0] != '/') {
		diag_error(ld->d, LINE(n), COL(n), "path: must start with '/', got %s", DESC(n));
		return;
	}
	for (const char *c = s; *c; c++) {
		if (!path_char_ok((unsigned char)*c)) {
			diag_error(ld->d, LINE(n), COL(n),
			           "path: %s must not contain '?', '#', spaces or control "
			           "characters",
			           DESC(n));
			return;
		}
	}
	dup = xstrdup(ld, s);
	if (!dup)
		return;
	free(r->path);
	r->path = dup;
	r->path_len = strlen(dup);
}

/* Hosts are stored lowercased and with IPv6 literals in brackets, the form
 * they take in a Host header once its port is gone. */
static void load_host(struct loader *ld, const yaml_node_t *n, struct policy_rule *r)
{
	const char *s = get_str(ld, "host", n);
	size_t len;

	if (!s)
		return;
	len = strlen(s);
	if (s[0] == '[') {
		if (len < 2 || s[len - 1] != ']' || !valid_ipv6(s + 1, len - 2)) {
			const char *end = strchr(s, ']');

			if (end && end[1] == ':')
				goto port;
			goto bad;
		}
	} else if (strchr(s, ':')) {
		goto port;
	} else if (!valid_hostname(s, len)) {
		goto bad;
	}
	r->host = xstrdup(ld, s);
	if (r->host)
		str_lower(r->host, len);
	return;
port:
	diag_error(ld->d, LINE(n), COL(n),
	           "host: %s must not contain a port (the port of the Host header is ignored "
	           "when matching)",
	           DESC(n));
	return;
bad:
	diag_error(ld->d, LINE(n), COL(n), "host: invalid host name %s", DESC(n));
}

static void load_origins(struct loader *ld, const yaml_node_t *n, struct policy_rule *r)
{
	size_t count;

	if (!want_seq(ld, "origins", n))
		return;
	count = seq_len(n);
	if (count == 0) {
		diag_error(ld->d, LINE(n), COL(n), "origins: must not be empty");
		return;
	}
	if (count > CONFIG_MAX_LIST || ld->norigins + count > CONFIG_MAX_ORIGINS) {
		diag_error(ld->d, LINE(n), COL(n),
		           "origins: too many entries (at most %d per list, %d in all)",
		           CONFIG_MAX_LIST, CONFIG_MAX_ORIGINS);
		return;
	}
	ld->norigins += count;
	r->origins = calloc(count, sizeof(*r->origins));
	if (!r->origins) {
		oom(ld);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(ld, n->data.sequence.items.start[i]);
		struct origin_rule *o = &r->origins[r->norigins];
		char err[256] = "";
		const char *s;

		if (!item)
			continue;
		if (is_null(item)) {
			diag_error(ld->d, LINE(item), COL(item),
			           "origins: expected a string, got null (write the opaque "
			           "origin in quotes: \"null\")");
			continue;
		}
		s = get_str(ld, "origins", item);
		if (!s)
			continue;
		if (origin_rule_parse(s, o, err, sizeof(err)) < 0) {
			diag_error(ld->d, LINE(item), COL(item), "origins: %s: %s", DESC(item),
			           err);
			continue;
		}
		o->line = LINE(item);
		o->col = COL(item);
		if (o->kind == ORIGIN_RULE_ANY)
			r->any_origin = true;
		r->norigins++;
	}
}

static bool strv_has(char **v, size_t n, const char *s, bool ci)
{
	for (size_t i = 0; i < n; i++)
		if (ci ? strcasecmp(v[i], s) == 0 : strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* methods, headers and expose_headers: lists of RFC 9110 tokens. For the
 * header lists a lone "*" is allowed and reported through star_line/col. */
static void load_tokens(struct loader *ld, const char *what, const yaml_node_t *n, bool is_method,
                        char ***out, size_t *nout, int *star_line, int *star_col)
{
	size_t count;
	char **v;

	if (!want_seq(ld, what, n))
		return;
	count = seq_len(n);
	if (count == 0 && is_method) {
		diag_error(ld->d, LINE(n), COL(n), "methods: must not be empty");
		return;
	}
	if (count > CONFIG_MAX_LIST) {
		diag_error(ld->d, LINE(n), COL(n), "%s: too many entries (at most %d)", what,
		           CONFIG_MAX_LIST);
		return;
	}
	v = calloc(count + 1, sizeof(*v));
	if (!v) {
		oom(ld);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(ld, n->data.sequence.items.start[i]);
		const char *s;

		if (!item || !(s = get_str(ld, what, item)))
			continue;
		if (strcmp(s, "*") == 0) {
			if (is_method) {
				diag_error(ld->d, LINE(item), COL(item),
				           "methods: \"*\" is not allowed; list the methods");
			} else if (*star_line) {
				diag_error(ld->d, LINE(item), COL(item), "%s: duplicate \"*\"",
				           what);
			} else {
				*star_line = LINE(item);
				*star_col = COL(item);
			}
			continue;
		}
		if (!str_is_token(str_c(s)) || strlen(s) != item->data.scalar.length) {
			diag_error(ld->d, LINE(item), COL(item), "%s: %s is not a valid %s", what,
			           DESC(item), is_method ? "method name" : "header name");
			continue;
		}
		if (strv_has(v, *nout, s, !is_method)) {
			diag_warn(ld->d, LINE(item), COL(item), "%s: duplicate %s ignored", what,
			          DESC(item));
			continue;
		}
		if (!(v[*nout] = xstrdup(ld, s)))
			continue;
		(*nout)++;
	}
	if (*star_line && *nout > 0)
		diag_error(ld->d, *star_line, *star_col, "%s: \"*\" must be the only entry", what);
	*out = v;
}

static char *join(struct loader *ld, char **v, size_t n)
{
	size_t len = 1;
	char *s, *o;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 2;
	s = o = malloc(len);
	if (!s) {
		oom(ld);
		return NULL;
	}
	*o = '\0';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(v[i]);

		if (i > 0) {
			memcpy(o, ", ", 2);
			o += 2;
		}
		memcpy(o, v[i], l);
		o += l;
	}
	*o = '\0';
	return s;
}

static void rule_defaults(struct loader *ld, struct policy_rule *r, size_t index,
                          const yaml_node_t *map)
{
	char name[32];

	snprintf(name, sizeof(name), "policy-%zu", index + 1);
	r->name = xstrdup(ld, name);
	r->path = xstrdup(ld, "/");
	r->path_len = 1;
	r->line = LINE(map);
	r->col = COL(map);
	r->max_age = -1;
	r->preflight = POLICY_PREFLIGHT_ANSWER;
	r->deny = POLICY_DENY_REJECT;
}

static void rule_finish(struct loader *ld, struct policy_rule *r, int hdr_star_line,
                        int hdr_star_col, int exp_star_line, int exp_star_col)
{
	static const char *const default_methods[] = {"GET", "HEAD", "POST"};

	r->any_header = hdr_star_line != 0;
	r->any_header_line = hdr_star_line;
	r->any_header_col = hdr_star_col;
	r->any_expose = exp_star_line != 0;
	if (r->credentials) {
		for (size_t i = 0; i < r->norigins; i++)
			if (r->origins[i].kind == ORIGIN_RULE_ANY)
				diag_error(ld->d, r->origins[i].line, r->origins[i].col,
				           "origins: \"*\" cannot be combined with credentials: "
				           "true; list the allowed origins");
		if (r->any_header)
			diag_error(ld->d, hdr_star_line, hdr_star_col,
			           "headers: \"*\" cannot be combined with credentials: true; "
			           "list the allowed headers");
		if (r->any_expose)
			diag_error(ld->d, exp_star_line, exp_star_col,
			           "expose_headers: \"*\" cannot be combined with credentials: "
			           "true; list the exposed headers");
	}
	if (!r->methods) {
		r->methods = calloc(3, sizeof(*r->methods));
		if (!r->methods) {
			oom(ld);
			return;
		}
		for (size_t i = 0; i < 3; i++)
			if ((r->methods[r->nmethods] = xstrdup(ld, default_methods[i])))
				r->nmethods++;
	}
	r->allow_methods_value = join(ld, r->methods, r->nmethods);
	if (r->any_expose)
		r->expose_value = xstrdup(ld, "*");
	else if (r->nexpose > 0)
		r->expose_value = join(ld, r->expose, r->nexpose);
	if (r->max_age >= 0) {
		char buf[32];

		snprintf(buf, sizeof(buf), "%ld", r->max_age);
		r->max_age_value = xstrdup(ld, buf);
	}
	r->vary_origin = !(r->any_origin && !r->credentials);
}

static void load_policy(struct loader *ld, const yaml_node_t *map, size_t index,
                        struct policy_rule *r, struct rule_pos *pos)
{
	static const char *const preflights[] = {"answer", "forward", NULL};
	static const char *const denies[] = {"reject", "omit", NULL};
	const yaml_node_t *name_node = map_find(ld, map, "name");
	int hdr_star_line = 0, hdr_star_col = 0, exp_star_line = 0, exp_star_col = 0;
	int no_star_line = 0, no_star_col = 0;
	bool have_origins = false;
	int e;

	rule_defaults(ld, r, index, map);
	pos->path_line = r->line;
	pos->path_col = r->col;
	/* The name goes first so that every later message can use it. */
	if (name_node) {
		const char *s = get_str(ld, "name", name_node);

		if (s && !valid_name(s)) {
			diag_error(ld->d, LINE(name_node), COL(name_node),
			           "name: must be 1-%d characters without control characters",
			           CONFIG_MAX_NAME);
		} else if (s) {
			char *dup = xstrdup(ld, s);

			if (dup) {
				free(r->name);
				r->name = dup;
			}
			pos->name_line = LINE(name_node);
			pos->name_col = COL(name_node);
		}
	}

	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < map->data.mapping.pairs.top;
	     q++) {
		int k = map_key(ld, map, q, policy_keys, " in a policy");
		const yaml_node_t *v = node_at(ld, q->value);
		size_t errors = ld->d->errors;
		long long x;

		if (k < 0 || !v)
			continue;
		switch (k) {
		case P_NAME:
			break;
		case P_PATH:
			pos->path_line = LINE(v);
			pos->path_col = COL(v);
			load_path(ld, v, r);
			pos->bad_key |= ld->d->errors != errors;
			break;
		case P_HOST:
			load_host(ld, v, r);
			pos->bad_key |= ld->d->errors != errors;
			break;
		case P_UPSTREAM:
			r->upstream = calloc(1, sizeof(*r->upstream));
			if (!r->upstream) {
				oom(ld);
			} else if (parse_upstream(ld, "upstream", v, r->upstream) < 0) {
				policy_upstream_free(r->upstream);
				free(r->upstream);
				r->upstream = NULL;
			}
			break;
		case P_ORIGINS:
			have_origins = true;
			load_origins(ld, v, r);
			break;
		case P_METHODS:
			load_tokens(ld, "methods", v, true, &r->methods, &r->nmethods,
			            &no_star_line, &no_star_col);
			break;
		case P_HEADERS:
			load_tokens(ld, "headers", v, false, &r->headers, &r->nheaders,
			            &hdr_star_line, &hdr_star_col);
			break;
		case P_EXPOSE:
			load_tokens(ld, "expose_headers", v, false, &r->expose, &r->nexpose,
			            &exp_star_line, &exp_star_col);
			break;
		case P_CREDENTIALS:
			get_bool(ld, "credentials", v, &r->credentials);
			break;
		case P_MAX_AGE:
			r->max_age_line = LINE(v);
			r->max_age_col = COL(v);
			if (get_int(ld, "max_age", v, &x) < 0)
				break;
			if (x < 0)
				diag_error(ld->d, LINE(v), COL(v), "max_age must be >= 0");
			else if (x > CONFIG_MAX_MAX_AGE)
				diag_error(ld->d, LINE(v), COL(v), "max_age: must be at most %ld",
				           CONFIG_MAX_MAX_AGE);
			else
				r->max_age = (long)x;
			break;
		case P_PRIVATE_NETWORK:
			get_bool(ld, "private_network", v, &r->private_network);
			break;
		case P_PREFLIGHT:
			if (get_enum(ld, "preflight", v, preflights, &e) == 0)
				r->preflight = (enum policy_preflight)e;
			break;
		case P_DENY:
			if (get_enum(ld, "deny", v, denies, &e) == 0)
				r->deny = (enum policy_deny)e;
			break;
		case P_ENFORCE:
			get_bool(ld, "enforce", v, &r->enforce);
			break;
		case P_REPORT_ONLY:
			get_bool(ld, "report_only", v, &r->report_only);
			break;
		}
	}
	if (!have_origins)
		diag_error(ld->d, r->line, r->col,
		           "missing required key \"origins\" in policy \"%s\"",
		           r->name ? r->name : "?");
	rule_finish(ld, r, hdr_star_line, hdr_star_col, exp_star_line, exp_star_col);
}

static bool same_host(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_policies(struct loader *ld, const struct rule_pos *pos)
{
	const struct policy *p = ld->p;

	for (size_t i = 1; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];

		for (size_t j = 0; j < i; j++) {
			const struct policy_rule *o = &p->rules[j];

			if (pos[i].name_line && r->name && o->name &&
			    strcmp(r->name, o->name) == 0) {
				diag_error(ld->d, pos[i].name_line, pos[i].name_col,
				           "duplicate policy name \"%s\" (first at line %d)",
				           r->name, pos[j].name_line ? pos[j].name_line : o->line);
				break;
			}
		}
		for (size_t j = 0; j < i && !pos[i].bad_key; j++) {
			const struct policy_rule *o = &p->rules[j];

			if (pos[j].bad_key || !r->path || !o->path ||
			    strcmp(r->path, o->path) != 0 || !same_host(r->host, o->host))
				continue;
			if (r->host)
				diag_error(ld->d, pos[i].path_line, pos[i].path_col,
				           "policy \"%s\": host \"%s\" and path \"%s\" are already "
				           "used by policy \"%s\" at line %d",
				           r->name, r->host, r->path, o->name, o->line);
			else
				diag_error(
				    ld->d, pos[i].path_line, pos[i].path_col,
				    "policy \"%s\": path \"%s\" (any host) is already used by "
				    "policy \"%s\" at line %d",
				    r->name, r->path, o->name, o->line);
			break;
		}
	}
}

static void load_policies(struct loader *ld, const yaml_node_t *n)
{
	struct policy *p = ld->p;
	struct rule_pos *pos;
	size_t count;

	if (!want_seq(ld, "policies", n))
		return;
	count = seq_len(n);
	if (count == 0) {
		diag_error(ld->d, LINE(n), COL(n), "policies: must not be empty");
		return;
	}
	if (count > CONFIG_MAX_POLICIES) {
		diag_error(ld->d, LINE(n), COL(n), "policies: too many policies (at most %d)",
		           CONFIG_MAX_POLICIES);
		return;
	}
	p->rules = calloc(count, sizeof(*p->rules));
	pos = calloc(count, sizeof(*pos));
	if (!p->rules || !pos) {
		free(pos);
		oom(ld);
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(ld, n->data.sequence.items.start[i]);

		if (!item || !want_map(ld, "policies", item))
			continue;
		load_policy(ld, item, i, &p->rules[p->nrules], &pos[p->nrules]);
		p->nrules++;
	}
	check_policies(ld, pos);
	free(pos);
}

enum {
	T_LISTEN,
	T_UPSTREAM,
	T_WORKERS,
	T_TIMEOUTS,
	T_LIMITS,
	T_FORWARDED,
	T_LOG,
	T_ADMIN,
	T_POLICIES,
};

static const char *const top_keys[] = {
    "listen",    "upstream", "workers", "timeouts", "limits",
    "forwarded", "log",      "admin",   "policies", NULL,
};

static void load_root(struct loader *ld, const yaml_node_t *root)
{
	struct policy *p = ld->p;
	bool have_upstream = false, have_policies = false;

	if (root->type != YAML_MAPPING_NODE) {
		err_type(ld, "policy file", "a mapping of keys such as upstream and policies",
		         root);
		return;
	}
	for (yaml_node_pair_t *q = root->data.mapping.pairs.start; q < root->data.mapping.pairs.top;
	     q++) {
		int k = map_key(ld, root, q, top_keys, "");
		const yaml_node_t *v = node_at(ld, q->value);

		if (k < 0 || !v)
			continue;
		switch (k) {
		case T_LISTEN:
			load_listen(ld, v);
			break;
		case T_UPSTREAM:
			have_upstream = true;
			if (parse_upstream(ld, "upstream", v, &p->upstream) < 0)
				policy_upstream_free(&p->upstream);
			break;
		case T_WORKERS:
			load_workers(ld, v);
			break;
		case T_TIMEOUTS:
			load_timeouts(ld, v);
			break;
		case T_LIMITS:
			load_limits(ld, v);
			break;
		case T_FORWARDED:
			get_bool(ld, "forwarded", v, &p->forwarded);
			break;
		case T_LOG:
			load_log(ld, v);
			break;
		case T_ADMIN:
			load_admin(ld, v);
			break;
		case T_POLICIES:
			have_policies = true;
			load_policies(ld, v);
			break;
		}
	}
	if (!have_upstream)
		diag_error(ld->d, LINE(root), COL(root), "missing required key \"upstream\"");
	if (!have_policies)
		diag_error(ld->d, LINE(root), COL(root), "missing required key \"policies\"");
	if (p->has_admin && p->admin.port != 0) {
		for (size_t i = 0; i < p->nlisten; i++)
			if (p->listen[i].port == p->admin.port &&
			    strcasecmp(p->listen[i].host, p->admin.host) == 0)
				diag_error(ld->d, p->admin.line, p->admin.col,
				           "admin.listen: same address as listen (line %d)",
				           p->listen[i].line);
	}
}

/* libyaml's reader errors carry a byte offset, not a mark. */
static void offset_to_pos(const char *buf, size_t len, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static void syntax_error(const yaml_parser_t *y, const char *buf, size_t len, struct diag_list *d)
{
	const char *problem = y->problem ? y->problem : "unknown error";
	int line = (int)y->problem_mark.line + 1, col = (int)y->problem_mark.column + 1;

	if (y->error == YAML_MEMORY_ERROR) {
		diag_error(d, 0, 0, "out of memory");
	} else if (y->error == YAML_READER_ERROR) {
		offset_to_pos(buf, len, y->problem_offset, &line, &col);
		diag_error(d, line, col, "invalid input: %s", problem);
	} else if (y->context) {
		diag_error(d, line, col, "YAML syntax error: %s %s (started at line %d, column %d)",
		           problem, y->context, (int)y->context_mark.line + 1,
		           (int)y->context_mark.column + 1);
	} else {
		diag_error(d, line, col, "YAML syntax error: %s", problem);
	}
}

struct policy *config_load_buffer(const char *name, const char *buf, size_t len,
                                  struct diag_list *d)
{
	size_t errors_before = d->errors;
	struct policy *p = NULL;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	const yaml_node_t *root, *extra_root;
	struct loader ld = {0};

	if (len > CONFIG_FILE_MAX) {
		diag_error(d, 0, 0, "file too large (over %u bytes)", CONFIG_FILE_MAX);
		return NULL;
	}
	p = policy_new(name);
	if (!p || !yaml_parser_initialize(&parser)) {
		diag_error(d, 0, 0, "out of memory");
		policy_unref(p);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		syntax_error(&parser, buf, len, d);
		goto out;
	}
	ld = (struct loader){.doc = &doc, .d = d, .p = p};
	root = yaml_document_get_root_node(&doc);
	if (!root)
		diag_error(d, 0, 0, "the file is empty (upstream and policies are required)");
	else
		load_root(&ld, root);
	/* A second document would be silently ignored: say so instead. */
	if (root && !yaml_parser_load(&parser, &extra)) {
		syntax_error(&parser, buf, len, d);
	} else if (root) {
		extra_root = yaml_document_get_root_node(&extra);
		if (extra_root)
			diag_error(d, LINE(extra_root), COL(extra_root),
			           "only one YAML document is allowed in a policy file");
		yaml_document_delete(&extra);
	}
	yaml_document_delete(&doc);
out:
	yaml_parser_delete(&parser);
	if (d->errors > errors_before) {
		policy_unref(p);
		return NULL;
	}
	return p;
}

struct policy *config_load_file(const char *file, struct diag_list *d)
{
	struct policy *p = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	int fd;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		diag_error(d, 0, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		diag_error(d, 0, 0, "cannot read: %s", strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		diag_error(d, 0, 0, "cannot read: %s", strerror(EISDIR));
		goto out;
	}
	/* Read one byte past the cap so an oversize file is told apart. */
	cap = CONFIG_FILE_MAX + 1;
	buf = malloc(cap);
	if (!buf) {
		diag_error(d, 0, 0, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			diag_error(d, 0, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap)
			break;
	}
	p = config_load_buffer(file, buf, len, d);
out:
	free(buf);
	close(fd);
	return p;
}
