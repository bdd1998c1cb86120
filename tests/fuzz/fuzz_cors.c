/*
 * cors_decide on fuzzed facts, under the fixed policy of decide.h. The input
 * is lines; the first byte picks how they become facts:
 *  - even: line 1 the method, line 2 the path, every other line one request
 *    header "Name:value" fed to cors_facts_add_header as the server feeds
 *    evhttp's headers (any bytes in the value, CR and NUL included);
 *  - odd: method, path, host, origin, headers for explain_facts_from_params,
 *    the admin's GET /explain (bit 1 asks about private network access).
 * Then the decision's SPEC invariants, the trace, the text and the JSON.
 */
#include <stdlib.h>

#include "decide.h"

#define MAX_LINES 40

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cors_facts facts;
	static struct cors_decision dec;
	const struct policy *p = fuzz_policy();
	struct str line[MAX_LINES];
	size_t nlines = 0;
	const char *s, *end;
	char *copy;
	uint8_t mode;

	if (size < 1)
		return 0;
	mode = data[0];
	/* A copy of exactly the input, so ASan sees any read past a view. */
	copy = malloc(size - 1 ? size - 1 : 1);
	FUZZ_CHECK(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	s = copy;
	end = copy + size - 1;
	while (nlines < MAX_LINES) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		line[nlines++] = (struct str){s, nl ? (size_t)(nl - s) : (size_t)(end - s)};
		if (!nl)
			break;
		s = nl + 1;
	}

	if (mode & 1) {
		char *param[5] = {NULL};
		const char *why = NULL;

		for (size_t i = 0; i < 5 && i < nlines; i++) {
			param[i] = str_dup(line[i]);
			FUZZ_CHECK(param[i] != NULL);
		}
		if (explain_facts_from_params(&facts, param[0], param[1], param[2], param[3],
		                              param[4], mode & 2, &why) == 0) {
			FUZZ_CHECK(why == NULL);
			cors_decide(p, &facts, &dec);
			fuzz_check_decision(&facts, &dec);
			fuzz_check_explain(p, &facts, &dec);
		} else {
			FUZZ_CHECK(why != NULL && fuzz_printable(why, strlen(why), ""));
		}
		for (size_t i = 0; i < 5; i++)
			free(param[i]);
	} else {
		cors_facts_init(&facts, line[0], nlines > 1 ? line[1] : STR_LIT("/"));
		for (size_t i = 2; i < nlines; i++) {
			const char *colon = memchr(line[i].p, ':', line[i].n);
			struct str name = line[i], value = STR_LIT("");

			if (colon) {
				name.n = (size_t)(colon - line[i].p);
				value = (struct str){colon + 1, line[i].n - name.n - 1};
			}
			cors_facts_add_header(&facts, name, value);
		}
		cors_decide(p, &facts, &dec);
		fuzz_check_decision(&facts, &dec);
		fuzz_check_explain(p, &facts, &dec);
	}
	free(copy);
	return 0;
}
