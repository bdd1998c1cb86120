/*
 * diag: the list of user-facing problems found while loading a policy file.
 * Loading keeps going after an error so the user sees every one of them,
 * each printed as FILE:LINE:COLUMN: message (warnings say "warning: ").
 */
#ifndef CORSD_DIAG_H
#define CORSD_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct diag {
	int line, col; /* 1-based; 0 when the problem has no position */
	bool warning;
	char *msg;
};

/* Owns its entries and the file name. */
struct diag_list {
	char *file;
	struct diag *v;
	size_t n, cap;
	size_t errors, warnings;
};

void diag_init(struct diag_list *d, const char *file);
void diag_free(struct diag_list *d);
void diag_error(struct diag_list *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_warn(struct diag_list *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Entry i as one line without its newline, cut to size. */
void diag_format(const struct diag_list *d, size_t i, char *buf, size_t size);
/* One line per entry, in the order they were added. */
void diag_print(const struct diag_list *d, FILE *out);

#endif
