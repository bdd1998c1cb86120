#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"
#include "unit.h"

/* Writes of every kind end up in order, NUL-terminated, across growth. */
START_TEST(test_grows_and_keeps_order)
{
	struct sbuf b = {0};
	char *s;
	size_t len = 0;

	sbuf_puts(&b, "a");
	sbuf_put(&b, "bcd", 2);
	for (int i = 0; i < 1000; i++)
		sbuf_printf(&b, "[%04d]", i);
	s = sbuf_finish(&b, &len);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(len, 3 + 1000 * 6);
	ck_assert_uint_eq(strlen(s), len);
	ck_assert(strncmp(s, "abc[0000][0001]", 15) == 0);
	ck_assert_str_eq(s + len - 6, "[0999]");
	free(s);
}
END_TEST

/* A printf longer than any fixed scratch buffer is written whole. */
START_TEST(test_long_printf)
{
	struct sbuf b = {0};
	char *big = malloc(100001), *s;

	memset(big, 'x', 100000);
	big[100000] = '\0';
	sbuf_printf(&b, "<%s>", big);
	s = sbuf_finish(&b, NULL);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), 100002);
	ck_assert(s[0] == '<' && s[100001] == '>');
	free(s);
	free(big);
}
END_TEST

/* Nothing written: no string (callers treat it like OOM or print ""). */
START_TEST(test_empty)
{
	struct sbuf b = {0};

	ck_assert_ptr_null(sbuf_finish(&b, NULL));
}
END_TEST

static Suite *sbuf_suite(void)
{
	Suite *s = suite_create("sbuf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_grows_and_keeps_order);
	tcase_add_test(tc, test_long_printf);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(sbuf_suite());
}
