/*
 * mm: the allocator corsd hands to libevent, with a per-thread cache of
 * freed blocks by size class (see mm.c for why). mm_setup must run before
 * any other libevent call; each thread that used libevent calls
 * mm_thread_exit last, so its cached blocks go back to malloc.
 */
#ifndef CORSD_MM_H
#define CORSD_MM_H

#include <stddef.h>

void mm_setup(void);
void mm_thread_exit(void);
/* Memory that libevent will free (evhttp frees header entries itself):
 * it must come from the allocator libevent uses. */
void *mm_event_alloc(size_t n);
void mm_event_free(void *p);

#endif
