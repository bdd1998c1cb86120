/*
 * diag: the list of problems found while loading a policy file. Entries are
 * kept in the order they were found so the output reads top to bottom.
 */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A message longer than this is a bug in the caller, not a user problem. */
#define DIAG_MSG_MAX 1024

void diag_init(struct diag_list *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	if (file)
		d->file = strdup(file);
}

void diag_free(struct diag_list *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

__attribute__((format(printf, 5, 0))) static void
diag_add(struct diag_list *d, bool warning, int line, int col, const char *fmt, va_list ap)
{
	char buf[DIAG_MSG_MAX];
	char *msg;

	/* Count first: even when memory runs out, an error must still fail the load. */
	if (warning)
		d->warnings++;
	else
		d->errors++;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct diag *v = realloc(d->v, cap * sizeof(*v));

		if (!v)
			return;
		d->v = v;
		d->cap = cap;
	}
	msg = strdup(buf);
	if (!msg)
		return;
	d->v[d->n++] = (struct diag){.line = line, .col = col, .warning = warning, .msg = msg};
}

void diag_error(struct diag_list *d, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, false, line, col, fmt, ap);
	va_end(ap);
}

void diag_warn(struct diag_list *d, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, true, line, col, fmt, ap);
	va_end(ap);
}

void diag_format(const struct diag_list *d, size_t i, char *buf, size_t size)
{
	const char *file = d->file ? d->file : "-";
	const struct diag *e = &d->v[i];
	const char *kind = e->warning ? "warning: " : "";

	/* A problem with no position (the file cannot be opened) reads FILE: msg. */
	if (e->line <= 0)
		snprintf(buf, size, "%s: %s%s", file, kind, e->msg);
	else if (e->col <= 0)
		snprintf(buf, size, "%s:%d: %s%s", file, e->line, kind, e->msg);
	else
		snprintf(buf, size, "%s:%d:%d: %s%s", file, e->line, e->col, kind, e->msg);
}

void diag_print(const struct diag_list *d, FILE *out)
{
	char line[1024];

	for (size_t i = 0; i < d->n; i++) {
		diag_format(d, i, line, sizeof(line));
		fprintf(out, "%s\n", line);
	}
}
