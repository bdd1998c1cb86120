/*
 * What every unit-test executable shares: run one Check suite and turn its
 * result into the exit status ctest reads.
 */
#ifndef CORSD_TEST_UNIT_H
#define CORSD_TEST_UNIT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"
#include "diag.h"

static inline int unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* A policy that must load: from yaml when given, else from the file. The
 * loader's errors are printed before the check fails. */
static inline struct policy *unit_policy(const char *file, const char *yaml)
{
	struct diag_list d;
	struct policy *p;

	diag_init(&d, file);
	p = yaml ? config_load_buffer(file, yaml, strlen(yaml), &d) : config_load_file(file, &d);
	if (p == NULL)
		diag_print(&d, stderr);
	diag_free(&d);
	ck_assert_ptr_nonnull(p);
	return p;
}

#endif
