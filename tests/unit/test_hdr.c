#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr.h"
#include "unit.h"

#define S(lit) ((struct str){(lit), sizeof(lit) - 1})

/* ---- Access-Control-Request-Headers ---- */

static const struct names_case {
	struct str value;
	enum hdr_list_status want;
	const char *names; /* expected names joined by '|' (OK) */
	const char *bad;   /* expected offending element (INVALID) */
} names_cases[] = {
    {S("Content-Type"), HDR_LIST_OK, "Content-Type", NULL},
    {S("content-type,X-Request-ID"), HDR_LIST_OK, "content-type|X-Request-ID", NULL},
    /* Two header lines joined by the caller with ",". */
    {S("x-a, X-B,x-c"), HDR_LIST_OK, "x-a|X-B|x-c", NULL},
    {S("a,,b, ,c"), HDR_LIST_OK, "a|b|c", NULL},
    {S(" \ta\t ,\t b  "), HDR_LIST_OK, "a|b", NULL},
    {S(",a,"), HDR_LIST_OK, "a", NULL},
    {S(""), HDR_LIST_OK, "", NULL},
    {S(" , ,, "), HDR_LIST_OK, "", NULL},
    {S("A,a"), HDR_LIST_OK, "A|a", NULL},
    {S("x y"), HDR_LIST_INVALID, NULL, "x y"},
    {S("ok, a@b, c"), HDR_LIST_INVALID, NULL, "a@b"},
    {S("a:b"), HDR_LIST_INVALID, NULL, "a:b"},
    {S("a,b\r\nX-Evil: 1"), HDR_LIST_INVALID, NULL, "b\r\nX-Evil: 1"},
    {{"a,b\0c", 5}, HDR_LIST_INVALID, NULL, "b"},
    {S("caf\xc3\xa9"), HDR_LIST_INVALID, NULL, "caf\xc3\xa9"},
};

START_TEST(test_names_table)
{
	const struct names_case *c = &names_cases[_i];
	struct hdr_names out;
	enum hdr_list_status st;
	char joined[256] = "";

	st = hdr_names_parse(c->value, &out);
	ck_assert_int_eq(st, c->want);
	if (c->want == HDR_LIST_INVALID) {
		/* The NUL case: "b\0c" reports "b\0c", which compares as "b" here. */
		ck_assert_ptr_nonnull(out.bad.p);
		ck_assert_uint_ge(out.bad.n, strlen(c->bad));
		ck_assert(memcmp(out.bad.p, c->bad, strlen(c->bad)) == 0);
		return;
	}
	for (size_t i = 0; i < out.n; i++) {
		if (i)
			strcat(joined, "|");
		strncat(joined, out.name[i].p, out.name[i].n);
	}
	ck_assert_str_eq(joined, c->names);
}
END_TEST

START_TEST(test_names_bytes_sum)
{
	struct hdr_names out;

	ck_assert_int_eq(hdr_names_parse(S("ab, cde ,f"), &out), HDR_LIST_OK);
	ck_assert_uint_eq(out.n, 3);
	ck_assert_uint_eq(out.bytes, 6);
	ck_assert_ptr_null(out.bad.p);
}
END_TEST

START_TEST(test_names_absent)
{
	struct hdr_names out;

	ck_assert_int_eq(hdr_names_parse(STR_NULL, &out), HDR_LIST_OK);
	ck_assert_uint_eq(out.n, 0);
}
END_TEST

/* "x0,x1,...": count names, each padded to width with 'p'. */
static char *make_list(size_t count, size_t width, const char *sep)
{
	size_t cap = count * (width + strlen(sep) + 8) + 1;
	char *s = calloc(1, cap), *w = s;

	ck_assert_ptr_nonnull(s);
	for (size_t i = 0; i < count; i++) {
		int k = sprintf(w, "%s%zu", i ? sep : "", i);

		w += k;
		/* Pad so that the name (without sep) is exactly width bytes. */
		for (size_t len = (size_t)k - (i ? strlen(sep) : 0); len < width; len++)
			*w++ = 'p';
	}
	*w = '\0';
	return s;
}

START_TEST(test_names_count_limit)
{
	struct hdr_names out;
	char *ok = make_list(HDR_ACRH_MAX_NAMES, 4, ", ");
	char *over = make_list(HDR_ACRH_MAX_NAMES + 1, 4, ",");

	ck_assert_int_eq(hdr_names_parse(str_c(ok), &out), HDR_LIST_OK);
	ck_assert_uint_eq(out.n, 64);
	ck_assert(str_eq(out.name[63], S("63pp")));
	ck_assert_int_eq(hdr_names_parse(str_c(over), &out), HDR_LIST_TOO_MANY);
	free(ok);
	free(over);
}
END_TEST

START_TEST(test_names_byte_limit)
{
	struct hdr_names out;
	char *one = malloc(HDR_ACRH_MAX_BYTES + 2);
	char *ok = make_list(64, 64, ",");    /* 64 * 64 = 4096 bytes of names */
	char *over = make_list(63, 64, ", "); /* 63 * 64 + 65 = 4097 */
	char *o2 = malloc(strlen(over) + 80);

	memset(one, 'a', HDR_ACRH_MAX_BYTES + 1);
	one[HDR_ACRH_MAX_BYTES + 1] = '\0';
	ck_assert_int_eq(hdr_names_parse(str_c(one), &out), HDR_LIST_TOO_MANY);
	one[HDR_ACRH_MAX_BYTES] = '\0';
	ck_assert_int_eq(hdr_names_parse(str_c(one), &out), HDR_LIST_OK);
	ck_assert_uint_eq(out.bytes, 4096);

	ck_assert_int_eq(hdr_names_parse(str_c(ok), &out), HDR_LIST_OK);
	ck_assert_uint_eq(out.bytes, 4096);
	sprintf(o2, "%s, %065d", over, 0);
	ck_assert_int_eq(hdr_names_parse(str_c(o2), &out), HDR_LIST_TOO_MANY);
	sprintf(o2, "%s, %064d", over, 0);
	ck_assert_int_eq(hdr_names_parse(str_c(o2), &out), HDR_LIST_OK);
	free(one);
	free(ok);
	free(over);
	free(o2);
}
END_TEST

/*
 * A 64 KiB value must stop at the limit: the trailing invalid element is
 * only reached (and reported as INVALID) by a parser that kept scanning.
 */
START_TEST(test_names_huge_stops_early)
{
	size_t n = 64 * 1024;
	char *v = malloc(n + 1);
	struct hdr_names out;

	for (size_t i = 0; i < n; i += 2) {
		v[i] = 'a';
		v[i + 1] = ',';
	}
	memcpy(v + n - 4, "x y", 3);
	v[n - 1] = '\0';
	ck_assert_int_eq(hdr_names_parse((struct str){v, n - 1}, &out), HDR_LIST_TOO_MANY);
	ck_assert_uint_eq(out.n, HDR_ACRH_MAX_NAMES);

	memset(v, 'a', n);
	memcpy(v + n - 4, "x y", 3);
	ck_assert_int_eq(hdr_names_parse((struct str){v, 4097}, &out), HDR_LIST_TOO_MANY);

	/* Many whitespace-only elements are cheap and not counted. */
	for (size_t i = 0; i < n; i += 2) {
		v[i] = ' ';
		v[i + 1] = ',';
	}
	ck_assert_int_eq(hdr_names_parse((struct str){v, n}, &out), HDR_LIST_OK);
	ck_assert_uint_eq(out.n, 0);
	free(v);
}
END_TEST

/* ---- comma-list membership, hop-by-hop, Access-Control-* ---- */

START_TEST(test_list_has)
{
	ck_assert(hdr_list_has(S("Origin, Accept"), S("origin")));
	ck_assert(hdr_list_has(S("Accept ,\tORIGIN\t"), S("Origin")));
	ck_assert(hdr_list_has(S("keep-alive, Upgrade"), S("upgrade")));
	ck_assert(!hdr_list_has(S("Originx, xOrigin"), S("Origin")));
	ck_assert(!hdr_list_has(S("Ori gin"), S("Origin")));
	ck_assert(!hdr_list_has(S(""), S("a")));
	ck_assert(!hdr_list_has(STR_NULL, S("a")));
	ck_assert(!hdr_list_has(S("a,,b"), S("")));
	ck_assert(!hdr_list_has(S("a,,b"), STR_NULL));
}
END_TEST

START_TEST(test_hop_by_hop)
{
	static const char *const yes[] = {"Connection",
	                                  "connection",
	                                  "KEEP-ALIVE",
	                                  "Keep-Alive",
	                                  "Proxy-Connection",
	                                  "TE",
	                                  "te",
	                                  "Trailer",
	                                  "trailer",
	                                  "Transfer-Encoding",
	                                  "Upgrade",
	                                  "transfer-encoding"};
	static const char *const no[] = {"Connections",
	                                 "TE2",
	                                 "T",
	                                 "Host",
	                                 "Content-Length",
	                                 "Trailers",
	                                 "Proxy-Authorization",
	                                 "Upgrade-Insecure-Requests",
	                                 "",
	                                 "te "};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ck_assert_msg(hdr_is_hop_by_hop(str_c(yes[i])), "%s", yes[i]);
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ck_assert_msg(!hdr_is_hop_by_hop(str_c(no[i])), "%s", no[i]);
	ck_assert(!hdr_is_hop_by_hop(STR_NULL));
}
END_TEST

START_TEST(test_access_control)
{
	ck_assert(hdr_is_access_control(S("Access-Control-Allow-Origin")));
	ck_assert(hdr_is_access_control(S("ACCESS-CONTROL-MAX-AGE")));
	ck_assert(hdr_is_access_control(S("access-control-x")));
	ck_assert(!hdr_is_access_control(S("Access-Control")));
	ck_assert(!hdr_is_access_control(S("Access_Control-Allow-Origin")));
	ck_assert(!hdr_is_access_control(S("X-Access-Control-Allow-Origin")));
	ck_assert(!hdr_is_access_control(S("")));
	ck_assert(!hdr_is_access_control(STR_NULL));
}
END_TEST

/* ---- Vary ---- */

static const char *const add_origin[] = {"Origin"};
static const char *const add_pre[] = {"Origin", "Access-Control-Request-Method",
                                      "Access-Control-Request-Headers"};
static const char *const add_twice[] = {"Origin", "origin"};

static const struct vary_case {
	struct str upstream;
	const char *const *add;
	size_t nadd;
	const char *want;
} vary_cases[] = {
    {STR_NULL, add_origin, 1, "Origin"},
    {S(""), add_origin, 1, "Origin"},
    {S("Accept-Encoding"), add_origin, 1, "Accept-Encoding, Origin"},
    {S("origin"), add_origin, 1, "origin"},
    {S("Accept-Encoding,ORIGIN"), add_origin, 1, "Accept-Encoding, ORIGIN"},
    {S("*"), add_origin, 1, "*"},
    {S("Accept, *"), add_origin, 1, "*"},
    {S(" * "), NULL, 0, "*"},
    {S("Accept, accept,ACCEPT"), add_origin, 1, "Accept, Origin"},
    {S(" , Accept ,,\t"), add_origin, 1, "Accept, Origin"},
    {S("A,B"), NULL, 0, "A, B"},
    {STR_NULL, NULL, 0, ""},
    {S(" , "), NULL, 0, ""},
    {STR_NULL, add_pre, 3, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"},
    {S("Access-Control-Request-Method, origin"), add_pre, 3,
     "Access-Control-Request-Method, origin, Access-Control-Request-Headers"},
    {STR_NULL, add_twice, 2, "Origin"},
    {S("a\r\nX-Evil: 1, Accept"), add_origin, 1, "Accept, Origin"},
};

START_TEST(test_vary_table)
{
	const struct vary_case *c = &vary_cases[_i];
	char *got = hdr_vary_merge(c->upstream, c->add, c->nadd);

	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, c->want);
	free(got);
}
END_TEST

START_TEST(test_vary_too_many)
{
	char *many = make_list(200, 3, ", ");
	char *limit = make_list(HDR_VARY_MAX_TOKENS - 1, 3, ",");
	char *over = make_list(HDR_VARY_MAX_TOKENS, 3, ",");
	char *got;
	size_t n = 64 * 1024;
	char *same = malloc(n + 1);

	got = hdr_vary_merge(str_c(many), add_origin, 1);
	ck_assert_str_eq(got, "*");
	free(got);

	/* 127 + Origin = 128 tokens: still listed. */
	got = hdr_vary_merge(str_c(limit), add_origin, 1);
	ck_assert_str_ne(got, "*");
	ck_assert_ptr_nonnull(strstr(got, "126, Origin"));
	free(got);
	got = hdr_vary_merge(str_c(over), add_origin, 1);
	ck_assert_str_eq(got, "*");
	free(got);

	/* One token repeated across 64 KiB collapses; it is not "too many". */
	for (size_t i = 0; i < n; i += 2) {
		same[i] = 'A';
		same[i + 1] = ',';
	}
	got = hdr_vary_merge((struct str){same, n}, add_origin, 1);
	ck_assert_str_eq(got, "A, Origin");
	free(got);
	free(same);
	free(many);
	free(limit);
	free(over);
}
END_TEST

static Suite *hdr_suite(void)
{
	Suite *s = suite_create("hdr");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_names_table, 0,
	                    (int)(sizeof(names_cases) / sizeof(names_cases[0])));
	tcase_add_test(tc, test_names_bytes_sum);
	tcase_add_test(tc, test_names_absent);
	tcase_add_test(tc, test_names_count_limit);
	tcase_add_test(tc, test_names_byte_limit);
	tcase_add_test(tc, test_names_huge_stops_early);
	tcase_add_test(tc, test_list_has);
	tcase_add_test(tc, test_hop_by_hop);
	tcase_add_test(tc, test_access_control);
	tcase_add_loop_test(tc, test_vary_table, 0,
	                    (int)(sizeof(vary_cases) / sizeof(vary_cases[0])));
	tcase_add_test(tc, test_vary_too_many);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(hdr_suite());
}
