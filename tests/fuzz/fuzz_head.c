/*
 * The --explain request-head parser, then what corsd --explain does with a
 * head it accepts: the facts, cors_decide under a fixed policy, the trace,
 * the text report and the JSON. The parser's views must stay inside the
 * input and hold what it promised (a token method and names, an origin-form
 * target, values free of CR/LF/NUL); the decision must keep SPEC's rules.
 */
#include "head.h"
#include "decide.h"

static void check_head(const struct head_req *h, const char *buf, size_t n)
{
	FUZZ_CHECK(str_is_token(h->method) && fuzz_within(h->method.p, h->method.n, buf, n));
	FUZZ_CHECK(fuzz_within(h->target.p, h->target.n, buf, n));
	FUZZ_CHECK(h->target.n > 0 && h->target.p[0] == '/' && !str_has_ctl(h->target));
	FUZZ_CHECK(!memchr(h->target.p, ' ', h->target.n) &&
	           !memchr(h->target.p, '\t', h->target.n));
	/* The path is the target up to its first '?'. */
	FUZZ_CHECK(h->path.p == h->target.p && h->path.n <= h->target.n);
	FUZZ_CHECK(!memchr(h->path.p, '?', h->path.n));
	FUZZ_CHECK(h->path.n == h->target.n || h->target.p[h->path.n] == '?');
	FUZZ_CHECK(h->minor == 0 || h->minor == 1);
	FUZZ_CHECK(h->nfields <= HEAD_MAX_FIELDS);
	for (size_t i = 0; i < h->nfields; i++) {
		const struct head_field *fl = &h->fields[i];

		FUZZ_CHECK(str_is_token(fl->name) && fuzz_within(fl->name.p, fl->name.n, buf, n));
		FUZZ_CHECK(fuzz_within(fl->value.p, fl->value.n, buf, n));
		FUZZ_CHECK(!str_has_ctl(fl->value));
		FUZZ_CHECK(fl->value.n == 0 || (fl->value.p[0] != ' ' && fl->value.p[0] != '\t' &&
		                                fl->value.p[fl->value.n - 1] != ' ' &&
		                                fl->value.p[fl->value.n - 1] != '\t'));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct head_req head;
	static struct cors_facts facts;
	static struct cors_decision dec;
	const struct policy *p = fuzz_policy();
	const char *buf = (const char *)data;
	char err[160];

	err[0] = '\0';
	if (head_parse(buf, size, &head, err, sizeof(err)) < 0) {
		/* The reason is printed to a terminal as one line. */
		FUZZ_CHECK(err[0] != '\0' && fuzz_printable(err, strlen(err), ""));
		return 0;
	}
	check_head(&head, buf, size);
	cors_facts_init(&facts, head.method, head.path);
	for (size_t i = 0; i < head.nfields; i++)
		cors_facts_add_header(&facts, head.fields[i].name, head.fields[i].value);
	cors_decide(p, &facts, &dec);
	fuzz_check_decision(&facts, &dec);
	fuzz_check_explain(p, &facts, &dec);
	return 0;
}
