/*
 * corsd: options, `-t`, `--explain`, and the running daemon (binding,
 * signals, reload). The only file that calls exit().
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "config.h"
#include "cors.h"
#include "head.h"
#include "log.h"
#include "worker.h"

#define DEFAULT_CONFIG "/etc/corsd/corsd.yaml"
/* A request head for --explain is small; more is a mistake. */
#define EXPLAIN_MAX (1024 * 1024)

static void usage(FILE *out)
{
	fprintf(out, "usage: corsd [-c FILE] [-t [--strict]] [--explain FILE|-] [-V] [-h]\n"
	             "  -c, --config FILE   policy file (default " DEFAULT_CONFIG ")\n"
	             "  -t, --test          validate the policy file and exit\n"
	             "      --strict        with -t: warnings fail too\n"
	             "      --explain FILE  read one raw HTTP request head (- for stdin) and\n"
	             "                      print the decision corsd would make\n"
	             "  -V, --version       print the version and exit\n"
	             "  -h, --help          print this help and exit\n");
}

static struct policy *load(const char *file, bool quiet_ok, bool strict)
{
	struct diag_list d;
	struct policy *p;

	diag_init(&d, file);
	p = config_load_file(file, &d);
	diag_print(&d, stderr);
	if (p && strict && d.warnings > 0) {
		policy_unref(p);
		p = NULL;
	}
	if (!quiet_ok || p == NULL) {
		size_t n = d.errors + (strict ? d.warnings : 0);
		if (p)
			fprintf(stderr, "%s: ok\n", file);
		else
			fprintf(stderr, "%s: %zu error%s\n", file, n ? n : 1, n == 1 ? "" : "s");
	}
	diag_free(&d);
	return p;
}

static int cmd_test(const char *file, bool strict)
{
	struct policy *p = load(file, false, strict);

	policy_unref(p);
	return p ? 0 : 1;
}

static char *read_all(const char *file, size_t *len)
{
	FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
	char *buf = NULL;
	size_t n = 0;

	if (f == NULL)
		return NULL;
	buf = malloc(EXPLAIN_MAX + 1);
	if (buf != NULL) {
		n = fread(buf, 1, EXPLAIN_MAX + 1, f);
		if (ferror(f) || n > EXPLAIN_MAX) {
			free(buf);
			buf = NULL;
			errno = ferror(f) ? EIO : EFBIG;
		}
	}
	if (f != stdin)
		fclose(f);
	*len = n;
	return buf;
}

static void print_header(const char *name, struct str value)
{
	printf("%s: %.*s\n", name, (int)value.n, value.p);
}

static int cmd_explain(const char *config, const char *file)
{
	struct policy *p;
	struct head_req *head = NULL;
	struct cors_facts *facts = NULL;
	struct cors_decision *dec = NULL;
	char err[160];
	char *buf = NULL;
	size_t len;
	int rc = 1;

	p = load(config, true, false);
	if (p == NULL)
		return 1;
	buf = read_all(file, &len);
	if (buf == NULL) {
		fprintf(stderr, "corsd: %s: %s\n", file, strerror(errno));
		goto out;
	}
	head = malloc(sizeof(*head));
	facts = malloc(sizeof(*facts));
	dec = malloc(sizeof(*dec));
	if (!head || !facts || !dec) {
		fprintf(stderr, "corsd: out of memory\n");
		goto out;
	}
	if (head_parse(buf, len, head, err, sizeof(err)) < 0) {
		fprintf(stderr, "corsd: %s: %s\n", file, err);
		goto out;
	}
	cors_facts_init(facts, head->method, head->path);
	for (size_t i = 0; i < head->nfields; i++)
		cors_facts_add_header(facts, head->fields[i].name, head->fields[i].value);
	cors_decide(p, facts, dec);

	printf("policy: %s\n", dec->rule ? dec->rule->name : "-");
	printf("kind: %s\n", cors_kind_name(dec->kind));
	printf("verdict: %s%s\n", cors_verdict_name(dec->verdict),
	       dec->report_only ? " (report_only: answered as allowed)" : "");
	printf("reason: %s", cors_reason_name(dec->reason));
	if (dec->detail.p)
		printf(" (%.*s)", (int)dec->detail.n, dec->detail.p);
	if (dec->origin_rule)
		printf(" (matched \"%s\")", dec->origin_rule);
	printf("\n");
	if (dec->local_status)
		printf("status: %d\n", dec->local_status);
	else
		printf("status: upstream\n");
	printf("\n");
	for (size_t i = 0; i < dec->nheaders; i++)
		print_header(dec->headers[i].name, dec->headers[i].value);
	if (dec->nvary) {
		printf("Vary: ");
		for (size_t i = 0; i < dec->nvary; i++)
			printf("%s%s", i ? ", " : "", dec->vary[i]);
		printf("\n");
	}
	if (dec->local_status && dec->body[0])
		printf("\n%s", dec->body);
	rc = 0;
out:
	free(buf);
	free(head);
	free(facts);
	free(dec);
	policy_unref(p);
	return rc;
}

/* ---- the daemon ---- */

struct daemon {
	const char *file;
	struct worker worker;
};

static void on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *dm = arg;

	log_msg(POLICY_LOG_INFO, "signal %d: stopping", (int)sig);
	worker_stop(&dm->worker);
}

static bool same_addr(const struct policy_addr *a, const struct policy_addr *b)
{
	return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* listen, workers and admin are bound at start; a reload cannot move them,
 * and saying so beats a silent surprise. */
static void warn_restart_only(const struct policy *old, const struct policy *new)
{
	bool listen_same = old->nlisten == new->nlisten;

	for (size_t i = 0; listen_same && i < old->nlisten; i++)
		listen_same = same_addr(&old->listen[i], &new->listen[i]);
	if (!listen_same)
		log_msg(POLICY_LOG_WARN, "reload: listen changed; it keeps its running value "
		                         "until a restart");
	if (old->workers != new->workers)
		log_msg(POLICY_LOG_WARN,
		        "reload: workers changed (%d -> %d); it keeps its running "
		        "value until a restart",
		        old->workers, new->workers);
	if (old->has_admin != new->has_admin ||
	    (old->has_admin && !same_addr(&old->admin, &new->admin)))
		log_msg(POLICY_LOG_WARN, "reload: admin changed; it keeps its running value until "
		                         "a restart");
}

/* Reload: a new file is loaded and checked whole; only a good one replaces
 * the running policy, and requests in flight keep the one they started
 * with (each holds its own reference). */
static void on_reload_signal(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *dm = arg;
	struct diag_list d;
	struct policy *p;

	diag_init(&d, dm->file);
	p = config_load_file(dm->file, &d);
	for (size_t i = 0; i < d.n; i++) {
		char line[1024];
		diag_format(&d, i, line, sizeof(line));
		log_msg(d.v[i].warning ? POLICY_LOG_WARN : POLICY_LOG_ERROR, "%s", line);
	}
	diag_free(&d);
	if (p == NULL) {
		log_msg(POLICY_LOG_ERROR, "reload of %s failed; the running policy stays",
		        dm->file);
		return;
	}
	warn_restart_only(dm->worker.policy, p);
	worker_set_policy(&dm->worker, p);
	policy_unref(p);
	log_setup(p->log_level, p->log_format);
	log_msg(POLICY_LOG_INFO, "reloaded %s", dm->file);
}

static int cmd_run(const char *file)
{
	struct daemon dm = {.file = file};
	struct event *ev_term = NULL, *ev_int = NULL, *ev_hup = NULL;
	sigset_t held;
	struct policy *p;
	char err[256];
	int rc = 1;

	p = load(file, true, false);
	if (p == NULL)
		return 1;
	log_setup(p->log_level, p->log_format);
	signal(SIGPIPE, SIG_IGN);
	/* "listening on" is the readiness signal: a SIGHUP or SIGTERM sent
	 * right after it must find its handler, not the default action. Hold
	 * them until the handlers are in place. */
	sigemptyset(&held);
	sigaddset(&held, SIGHUP);
	sigaddset(&held, SIGTERM);
	sigaddset(&held, SIGINT);
	sigprocmask(SIG_BLOCK, &held, NULL);
	if (worker_init(&dm.worker, 0, p, err, sizeof(err)) < 0) {
		log_msg(POLICY_LOG_ERROR, "%s", err);
		goto out;
	}
	ev_term = evsignal_new(dm.worker.base, SIGTERM, on_stop_signal, &dm);
	ev_int = evsignal_new(dm.worker.base, SIGINT, on_stop_signal, &dm);
	ev_hup = evsignal_new(dm.worker.base, SIGHUP, on_reload_signal, &dm);
	if (!ev_term || !ev_int || !ev_hup || evsignal_add(ev_term, NULL) < 0 ||
	    evsignal_add(ev_int, NULL) < 0 || evsignal_add(ev_hup, NULL) < 0) {
		log_msg(POLICY_LOG_ERROR, "cannot install signal handlers");
		goto out;
	}
	sigprocmask(SIG_UNBLOCK, &held, NULL);
	if (p->workers > 1)
		log_msg(POLICY_LOG_WARN, "workers: %d: this version runs one event loop",
		        p->workers);
	if (p->has_admin)
		log_msg(POLICY_LOG_WARN,
		        "admin.listen %s: the admin listener is not served by this "
		        "version yet",
		        p->admin.text);
	log_msg(POLICY_LOG_INFO, "corsd %s running with %s", CORSD_VERSION, file);
	worker_run(&dm.worker);
	rc = 0;
out:
	if (ev_term)
		event_free(ev_term);
	if (ev_int)
		event_free(ev_int);
	if (ev_hup)
		event_free(ev_hup);
	worker_free(&dm.worker);
	policy_unref(p);
	return rc;
}

int main(int argc, char **argv)
{
	enum { OPT_STRICT = 256, OPT_EXPLAIN };
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"test", no_argument, NULL, 't'},
	    {"strict", no_argument, NULL, OPT_STRICT},
	    {"explain", required_argument, NULL, OPT_EXPLAIN},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *file = DEFAULT_CONFIG, *explain = NULL;
	bool test = false, strict = false;
	int c;

	while ((c = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			file = optarg;
			break;
		case 't':
			test = true;
			break;
		case OPT_STRICT:
			strict = true;
			break;
		case OPT_EXPLAIN:
			explain = optarg;
			break;
		case 'V':
			printf("corsd %s\n", CORSD_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (strict && !test) || (test && explain)) {
		usage(stderr);
		return 2;
	}
	if (test)
		return cmd_test(file, strict);
	if (explain)
		return cmd_explain(file, explain);
	return cmd_run(file);
}
