#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "str.h"
#include "unit.h"

START_TEST(test_str_c)
{
	struct str s = str_c("abc");

	ck_assert_ptr_null(str_c(NULL).p);
	ck_assert_uint_eq(str_c(NULL).n, 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(str_c("").n, 0);
	ck_assert_ptr_nonnull(str_c("").p);
}
END_TEST

START_TEST(test_str_eq)
{
	ck_assert(str_eq(STR_LIT("Origin"), STR_LIT("Origin")));
	ck_assert(!str_eq(STR_LIT("Origin"), STR_LIT("origin")));
	ck_assert(!str_eq(STR_LIT("Origin"), STR_LIT("Origi")));
	ck_assert(str_eq(STR_NULL, STR_NULL));
	ck_assert(!str_eq(STR_NULL, STR_LIT("")));
	ck_assert(str_eq(STR_LIT(""), STR_LIT("")));
	ck_assert(!str_eq(((struct str){"a\0b", 3}), ((struct str){"a\0c", 3})));

	ck_assert(str_eq_ci(STR_LIT("Origin"), STR_LIT("oRIGIN")));
	ck_assert(!str_eq_ci(STR_LIT("Origin"), STR_LIT("Origin ")));
	ck_assert(!str_eq_ci(STR_LIT("a"), STR_LIT("b")));
	/* '@' and '`' sit next to 'A' and 'a': folding must not merge them. */
	ck_assert(!str_eq_ci(STR_LIT("@"), STR_LIT("`")));
	ck_assert(!str_eq_ci(STR_LIT("["), STR_LIT("{")));
	ck_assert(!str_eq_ci(STR_NULL, STR_LIT("")));
}
END_TEST

START_TEST(test_str_affixes)
{
	ck_assert(str_starts_with(STR_LIT("access-control-x"), STR_LIT("access-")));
	ck_assert(!str_starts_with(STR_LIT("Access-control-x"), STR_LIT("access-")));
	ck_assert(!str_starts_with(STR_LIT("acc"), STR_LIT("access")));
	ck_assert(str_starts_with(STR_LIT("x"), STR_LIT("")));
	ck_assert(!str_starts_with(STR_NULL, STR_LIT("")));

	ck_assert(str_ends_with_ci(STR_LIT("a.EXAMPLE.com"), STR_LIT(".example.COM")));
	ck_assert(!str_ends_with_ci(STR_LIT("example.com"), STR_LIT(".example.com")));
	ck_assert(!str_ends_with_ci(STR_LIT("a.example.co"), STR_LIT(".example.com")));
	ck_assert(str_ends_with_ci(STR_LIT("abc"), STR_LIT("")));
}
END_TEST

START_TEST(test_str_trim)
{
	struct str t = str_trim_ows(STR_LIT(" \t a b\t  "));

	ck_assert(str_eq(t, STR_LIT("a b")));
	ck_assert_uint_eq(str_trim_ows(STR_LIT(" \t ")).n, 0);
	/* Only SP and HTAB are OWS; CR and LF stay for str_has_ctl to see. */
	ck_assert(str_eq(str_trim_ows(STR_LIT("\ra\n")), STR_LIT("\ra\n")));
	ck_assert_ptr_null(str_trim_ows(STR_NULL).p);
}
END_TEST

START_TEST(test_str_tchar)
{
	const char *extra = "!#$%&'*+-.^_`|~";

	for (int c = 0; c < 256; c++) {
		bool want = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		            (c >= '0' && c <= '9') || (c != 0 && strchr(extra, c));

		ck_assert_msg(str_is_tchar((unsigned char)c) == want, "tchar 0x%02x", c);
	}
}
END_TEST

START_TEST(test_str_token)
{
	ck_assert(str_is_token(STR_LIT("Content-Type")));
	ck_assert(str_is_token(STR_LIT("x-a.b_c~!")));
	ck_assert(!str_is_token(STR_LIT("")));
	ck_assert(!str_is_token(STR_NULL));
	ck_assert(!str_is_token(STR_LIT("a b")));
	ck_assert(!str_is_token(STR_LIT("a:b")));
	ck_assert(!str_is_token(STR_LIT("a@b")));
	ck_assert(!str_is_token(((struct str){"ab\0", 3})));
	ck_assert(!str_is_token(STR_LIT("caf\xc3\xa9")));
}
END_TEST

START_TEST(test_str_ctl)
{
	ck_assert(!str_has_ctl(STR_LIT("plain value\t")));
	ck_assert(str_has_ctl(STR_LIT("a\rb")));
	ck_assert(str_has_ctl(STR_LIT("a\nb")));
	ck_assert(str_has_ctl(((struct str){"a\0b", 3})));
	ck_assert(!str_has_ctl(STR_NULL));
}
END_TEST

START_TEST(test_str_lower_dup)
{
	char buf[] = "HeLLo-@[`{Z";
	char *d;

	str_lower(buf, sizeof(buf) - 1);
	ck_assert_str_eq(buf, "hello-@[`{z");
	ck_assert_int_eq(str_lower_c('Q'), 'q');
	ck_assert_int_eq(str_lower_c((char)0xC9), (char)0xC9);

	d = str_dup(((struct str){"abcdef", 3}));
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "abc");
	free(d);
	d = str_dup(STR_NULL);
	ck_assert_ptr_nonnull(d);
	ck_assert_str_eq(d, "");
	free(d);
}
END_TEST

static Suite *str_suite(void)
{
	Suite *s = suite_create("str");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_str_c);
	tcase_add_test(tc, test_str_eq);
	tcase_add_test(tc, test_str_affixes);
	tcase_add_test(tc, test_str_trim);
	tcase_add_test(tc, test_str_tchar);
	tcase_add_test(tc, test_str_token);
	tcase_add_test(tc, test_str_ctl);
	tcase_add_test(tc, test_str_lower_dup);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(str_suite());
}
