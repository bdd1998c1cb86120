#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"

static const struct metrics_global global = {
    .open_connections = 7,
    .reloads_ok = 2,
    .reloads_failed = 1,
    .workers = 2,
    .version = "9.9.9",
};

/* The value of the sample line that starts with `series ` (exactly). */
static long long sample(const char *text, const char *series)
{
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return atoll(p + n + 1);
	return -1;
}

static char *render(struct metrics *a, struct metrics *b)
{
	const struct metrics *v[2] = {a, b};
	size_t len = 0;
	char *text = metrics_render(v, 2, &global, &len);

	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(strlen(text), len);
	return text;
}

/* Two workers' counts are summed per policy name, whatever rule object
 * counted them (a reload makes new ones). */
START_TEST(test_sums_over_workers_and_reloads)
{
	static struct metrics a, b;
	int rule1, rule2; /* stand-ins for two generations of one rule */
	char *text;

	metrics_init(&a);
	metrics_init(&b);
	metrics_request(&a, &rule1, "api", METRICS_PREFLIGHT, METRICS_ALLOWED, 1000);
	metrics_request(&a, &rule2, "api", METRICS_PREFLIGHT, METRICS_ALLOWED, 1000);
	metrics_request(&b, &rule1, "api", METRICS_PREFLIGHT, METRICS_DENIED, 1000);
	metrics_request(&b, &rule1, "api", METRICS_ACTUAL, METRICS_NONE, 1000);
	metrics_request(&b, NULL, NULL, METRICS_PLAIN, METRICS_NONE, 1000);
	metrics_upstream_status(&a, 204);
	metrics_upstream_status(&b, 503);
	metrics_upstream_error(&a, METRICS_UERR_TIMEOUT);
	metrics_bad_request(&b);
	text = render(&a, &b);
	ck_assert_int_eq(
	    sample(text,
	           "corsd_requests_total{kind=\"preflight\",outcome=\"allowed\",policy=\"api\"}"),
	    2);
	ck_assert_int_eq(
	    sample(text,
	           "corsd_requests_total{kind=\"preflight\",outcome=\"denied\",policy=\"api\"}"),
	    1);
	/* Same-origin requests: actual, outcome none. */
	ck_assert_int_eq(
	    sample(text, "corsd_requests_total{kind=\"actual\",outcome=\"none\",policy=\"api\"}"),
	    1);
	ck_assert_int_eq(
	    sample(text, "corsd_requests_total{kind=\"plain\",outcome=\"none\",policy=\"\"}"), 1);
	/* Combinations that cannot happen are not exposed. */
	ck_assert_int_eq(
	    sample(text, "corsd_requests_total{kind=\"plain\",outcome=\"allowed\",policy=\"api\"}"),
	    -1);
	ck_assert_int_eq(
	    sample(text,
	           "corsd_requests_total{kind=\"preflight\",outcome=\"none\",policy=\"api\"}"),
	    -1);
	ck_assert_int_eq(sample(text, "corsd_upstream_responses_total{class=\"2xx\"}"), 1);
	ck_assert_int_eq(sample(text, "corsd_upstream_responses_total{class=\"5xx\"}"), 1);
	ck_assert_int_eq(sample(text, "corsd_upstream_errors_total{cause=\"timeout\"}"), 1);
	ck_assert_int_eq(sample(text, "corsd_bad_requests_total"), 1);
	ck_assert_int_eq(sample(text, "corsd_open_connections"), 7);
	ck_assert_int_eq(sample(text, "corsd_config_reloads_total{result=\"ok\"}"), 2);
	ck_assert_int_eq(sample(text, "corsd_config_reloads_total{result=\"failed\"}"), 1);
	ck_assert_int_eq(sample(text, "corsd_workers"), 2);
	ck_assert_int_eq(sample(text, "corsd_request_duration_seconds_count"), 5);
	free(text);
}
END_TEST

/* Buckets are cumulative and a duration lands in the first bound it does
 * not exceed. */
START_TEST(test_histogram)
{
	static struct metrics a, b;
	char *text;

	metrics_init(&a);
	metrics_init(&b);
	metrics_request(&a, NULL, NULL, METRICS_PLAIN, METRICS_NONE, 50000);      /* 50 us */
	metrics_request(&a, NULL, NULL, METRICS_PLAIN, METRICS_NONE, 100000);     /* 100 us */
	metrics_request(&b, NULL, NULL, METRICS_PLAIN, METRICS_NONE, 2000000);    /* 2 ms */
	metrics_request(&b, NULL, NULL, METRICS_PLAIN, METRICS_NONE, 9000000000); /* 9 s */
	text = render(&a, &b);
	ck_assert_int_eq(sample(text, "corsd_request_duration_seconds_bucket{le=\"0.0001\"}"), 2);
	ck_assert_int_eq(sample(text, "corsd_request_duration_seconds_bucket{le=\"0.001\"}"), 2);
	ck_assert_int_eq(sample(text, "corsd_request_duration_seconds_bucket{le=\"0.0025\"}"), 3);
	ck_assert_int_eq(sample(text, "corsd_request_duration_seconds_bucket{le=\"5\"}"), 3);
	ck_assert_int_eq(sample(text, "corsd_request_duration_seconds_bucket{le=\"+Inf\"}"), 4);
	ck_assert_int_eq(sample(text, "corsd_request_duration_seconds_count"), 4);
	ck_assert_ptr_nonnull(strstr(text, "corsd_request_duration_seconds_sum 9.002150\n"));
	free(text);
}
END_TEST

/* Policy names are label values: quotes, backslashes and newlines are
 * escaped; past METRICS_MAX_POLICIES names, the rest count as "_other". */
START_TEST(test_labels_and_overflow)
{
	static struct metrics a, b;
	static int keys[METRICS_MAX_POLICIES + 5];
	char name[32], *text;

	metrics_init(&a);
	metrics_init(&b);
	metrics_request(&a, &keys[0], "we\"ird\\na\nme", METRICS_ACTUAL, METRICS_ALLOWED, 1);
	for (int i = 1; i < METRICS_MAX_POLICIES + 5; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		metrics_request(&a, &keys[i], name, METRICS_ACTUAL, METRICS_DENIED, 1);
	}
	text = render(&a, &b);
	ck_assert_int_eq(sample(text, "corsd_requests_total{kind=\"actual\",outcome=\"allowed\","
	                              "policy=\"we\\\"ird\\\\na\\nme\"}"),
	                 1);
	ck_assert_int_eq(
	    sample(text, "corsd_requests_total{kind=\"actual\",outcome=\"denied\",policy=\"p1\"}"),
	    1);
	/* Names 128..132 did not fit: five requests under _other. */
	ck_assert_int_eq(
	    sample(text,
	           "corsd_requests_total{kind=\"actual\",outcome=\"denied\",policy=\"_other\"}"),
	    5);
	ck_assert_int_eq(
	    sample(text,
	           "corsd_requests_total{kind=\"actual\",outcome=\"denied\",policy=\"p130\"}"),
	    -1);
	free(text);
}
END_TEST

/* Every line is a comment or "name{labels} value": what a scraper needs. */
START_TEST(test_exposition_shape)
{
	static struct metrics a, b;
	char *text, *line, *save = NULL;

	metrics_init(&a);
	metrics_init(&b);
	text = render(&a, &b);
	ck_assert(text[strlen(text) - 1] == '\n');
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#') {
			ck_assert_msg(strncmp(line, "# HELP corsd_", 13) == 0 ||
			                  strncmp(line, "# TYPE corsd_", 13) == 0,
			              "%s", line);
			continue;
		}
		ck_assert_msg(strncmp(line, "corsd_", 6) == 0, "%s", line);
		ck_assert_msg(strchr(line, ' ') != NULL, "%s", line);
	}
	free(text);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sums_over_workers_and_reloads);
	tcase_add_test(tc, test_histogram);
	tcase_add_test(tc, test_labels_and_overflow);
	tcase_add_test(tc, test_exposition_shape);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(metrics_suite());
}
