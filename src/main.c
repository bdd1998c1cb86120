/*
 * corsd: options, `-t`, `--explain`, and handing over to the daemon.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "cors.h"
#include "explain.h"
#include "head.h"
#include "lint.h"
#include "log.h"
#include "daemon.h"

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
	/* Lints are for -t (SPEC "Lints"); the daemon and --explain load
	 * quietly (quiet_ok). */
	if (p && !quiet_ok)
		lint_policy(p, &d);
	diag_print(&d, stderr);
	if (p && strict && d.warnings > 0) {
		policy_unref(p);
		p = NULL;
	}
	if (!quiet_ok || p == NULL) {
		size_t n = d.errors + (strict ? d.warnings : 0);
		if (p)
			fprintf(stderr, "%s: ok\n", file);
		else if (strict && d.warnings > 0)
			fprintf(stderr, "%s: %zu error%s (%zu warning%s, failing under --strict)\n",
			        file, n, n == 1 ? "" : "s", d.warnings, d.warnings == 1 ? "" : "s");
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

/* The report is explain_text's, shared with the admin's GET /explain. */
static int cmd_explain(const char *config, const char *file)
{
	struct policy *p;
	struct head_req *head = NULL;
	struct cors_facts *facts = NULL;
	struct cors_decision *dec = NULL;
	char err[160];
	char *buf = NULL, *text = NULL;
	size_t len, tlen;
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
	text = explain_text(p, facts, dec, &tlen);
	if (text == NULL) {
		fprintf(stderr, "corsd: out of memory\n");
		goto out;
	}
	fwrite(text, 1, tlen, stdout);
	rc = 0;
out:
	free(text);
	free(buf);
	free(head);
	free(facts);
	free(dec);
	policy_unref(p);
	return rc;
}

static int cmd_run(const char *file)
{
	struct policy *p = load(file, true, false);
	int rc;

	if (p == NULL)
		return 1;
	rc = daemon_run(file, p);
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
