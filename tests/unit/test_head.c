/*
 * The request-head parser behind --explain: what it accepts must be what
 * the server would accept, and every refusal says why.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "head.h"
#include "unit.h"

static struct head_req req;
static char err[160];

static int parse(const char *s)
{
	err[0] = '\0';
	return head_parse(s, strlen(s), &req, err, sizeof(err));
}

START_TEST(test_preflight_head)
{
	ck_assert_int_eq(parse("OPTIONS /api/x?y=1 HTTP/1.1\r\n"
	                       "Host: api.example.com\r\n"
	                       "Origin:   https://app.example.com  \r\n"
	                       "Access-Control-Request-Method: PUT\r\n"
	                       "\r\n"
	                       "ignored body"),
	                 0);
	ck_assert(str_eq(req.method, STR_LIT("OPTIONS")));
	ck_assert(str_eq(req.target, STR_LIT("/api/x?y=1")));
	ck_assert(str_eq(req.path, STR_LIT("/api/x")));
	ck_assert_int_eq(req.minor, 1);
	ck_assert_uint_eq(req.nfields, 3);
	ck_assert(str_eq(req.fields[1].name, STR_LIT("Origin")));
	ck_assert(str_eq(req.fields[1].value, STR_LIT("https://app.example.com")));
}
END_TEST

START_TEST(test_bare_lf_and_no_blank_line)
{
	ck_assert_int_eq(parse("GET / HTTP/1.0\nHost: a\nOrigin: null"), 0);
	ck_assert_int_eq(req.minor, 0);
	ck_assert_uint_eq(req.nfields, 2);
	ck_assert(str_eq(req.fields[1].value, STR_LIT("null")));
}
END_TEST

static const struct {
	const char *head, *why;
} bad[] = {
    {"GET\r\n\r\n", "METHOD TARGET HTTP/1.x"},
    {"GET /\r\n\r\n", "METHOD TARGET HTTP/1.x"},
    {"G(T / HTTP/1.1\r\n\r\n", "method is not a token"},
    {"GET http://a/ HTTP/1.1\r\n\r\n", "origin-form"},
    {"GET / HTTP/2.0\r\n\r\n", "HTTP/1.0 or HTTP/1.1"},
    {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "obs-fold"},
    {"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "no colon"},
    {"GET / HTTP/1.1\r\nOrigin : x\r\n\r\n", "not a token"},
    {"GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", "CR, LF or NUL"},
};

START_TEST(test_refusals)
{
	ck_assert_int_eq(parse(bad[_i].head), -1);
	ck_assert_msg(strstr(err, bad[_i].why) != NULL, "'%s': got '%s'", bad[_i].head, err);
}
END_TEST

START_TEST(test_nul_in_value_refused)
{
	static const char h[] = "GET / HTTP/1.1\r\nOrigin: https://a.example\0.evil\r\n\r\n";

	ck_assert_int_eq(head_parse(h, sizeof(h) - 1, &req, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
}
END_TEST

START_TEST(test_too_many_fields)
{
	static char h[HEAD_MAX_FIELDS * 8 + 64];
	size_t n = (size_t)snprintf(h, sizeof(h), "GET / HTTP/1.1\r\n");

	for (int i = 0; i <= HEAD_MAX_FIELDS; i++)
		n += (size_t)snprintf(h + n, sizeof(h) - n, "A: b\r\n");
	ck_assert_int_eq(head_parse(h, n, &req, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "header lines"));
}
END_TEST

/* Found by fuzzing (tests/fuzz/fuzz_head): the refusal quoted a bad header
 * name's raw bytes, so `corsd --explain` wrote ESC, CR or any byte a head
 * held to the terminal. They are escaped now, the name still recognisable. */
START_TEST(test_bad_name_escaped)
{
	static const char h[] = "GET / HTTP/1.1\r\nX\x1b[2J\rY\x86: v\r\n\r\n";

	ck_assert_int_eq(head_parse(h, sizeof(h) - 1, &req, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "\"X\\x1b[2J\\x0dY\\x86\" is not a token") != NULL, "got '%s'",
	              err);
	for (const char *p = err; *p; p++)
		ck_assert_msg(*p >= 0x20 && *p < 0x7f, "raw byte 0x%02x in '%s'", (unsigned char)*p,
		              err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("head");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_preflight_head);
	tcase_add_test(tc, test_bare_lf_and_no_blank_line);
	tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_nul_in_value_refused);
	tcase_add_test(tc, test_too_many_fields);
	tcase_add_test(tc, test_bad_name_escaped);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
